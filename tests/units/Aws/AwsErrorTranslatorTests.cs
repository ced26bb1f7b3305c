using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using PrefectScaling.Aws.Protocol;

namespace PrefectScaling.Aws.Tests;

/// <summary>What a failed call becomes: a kind the cmdlets map to an error category, a message that says what to do,
/// and never a secret.</summary>
public sealed class AwsErrorTranslatorTests
{
    private const string Secret = "wJalrXUtnFEMI-Do-Not-Print";
    private const string Endpoint = "https://lambda.eu-west-1.amazonaws.com";

    private static readonly AwsErrorTranslator Translator = new(new[] { Secret },
        new[] { "region: eu-west-1 (parameter -Region)", "credentials: environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" });

    private static AwsApiException Translate(Exception exception, IReadOnlyList<string>? secrets = null) =>
        Translator.Translate(exception, "Lambda", "GetFunction", Endpoint, secrets);

    [Theory]
    [InlineData("ResourceNotFoundException", HttpStatusCode.NotFound, AwsErrorKind.NotFound)]
    [InlineData("AccessDeniedException", HttpStatusCode.Forbidden, AwsErrorKind.AccessDenied)]
    [InlineData("TooManyRequestsException", HttpStatusCode.TooManyRequests, AwsErrorKind.Throttled)]
    [InlineData("", HttpStatusCode.Conflict, AwsErrorKind.Conflict)]
    [InlineData("", HttpStatusCode.BadGateway, AwsErrorKind.ServiceError)]
    public void A_service_error_keeps_its_code_request_id_and_status(string code, HttpStatusCode status, AwsErrorKind kind)
    {
        var sdk = new AmazonServiceException("Function not found: " + Secret, null, ErrorType.Sender, code, "req-1", status);
        AwsApiException error = Translate(sdk);
        Assert.Equal(kind, error.Kind);
        Assert.Equal(code.Length == 0 ? null : code, error.ErrorCode);
        Assert.Equal("req-1", error.RequestId);
        Assert.Equal((int)status, error.StatusCode);
        Assert.Equal(("Lambda", "GetFunction"), (error.Service, error.Operation));
        Assert.StartsWith("Lambda GetFunction failed: " + (code.Length == 0 ? "HTTP " + (int)status : code) + ": Function not found: ***", error.Message);
        Assert.Contains("(request id req-1)", error.Message);
        Assert.Same(sdk, error.InnerException);
    }

    [Fact]
    public void A_network_failure_names_the_endpoint_it_could_not_reach()
    {
        var failure = new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused));
        AwsApiException error = Translate(new AmazonClientException("wrapped", failure));
        Assert.Equal(AwsErrorKind.ConnectionFailed, error.Kind);
        Assert.Contains("could not reach " + Endpoint, error.Message);
        Assert.Contains("-EndpointUrl / AWS_ENDPOINT_URL*", error.Message);
        Assert.Equal(AwsErrorKind.ConnectionFailed, Translate(new TaskCanceledException("timed out")).Kind); // a timeout, not a Ctrl+C
    }

    [Fact]
    public void A_request_the_SDK_refused_to_send_is_a_validation_error() =>
        Assert.Equal("Lambda GetFunction was not sent: FunctionName is required.",
            Translate(new ArgumentException("FunctionName is required.")) is { Kind: AwsErrorKind.Validation } e ? e.Message : null);

    [Fact]
    public void A_client_failure_before_AWS_names_where_the_credentials_came_from()
    {
        AwsApiException error = Translate(new AmazonClientException("Unable to get IAM security credentials for " + Secret));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Equal("Lambda GetFunction failed before reaching AWS: Unable to get IAM security credentials for ***"
            + " Check the AWS credentials (environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).", error.Message);
        var noSources = new AwsErrorTranslator(Array.Empty<string>(), Array.Empty<string>());
        Assert.EndsWith("(none found).", noSources.Translate(new AmazonClientException("x"), "STS", "GetCallerIdentity", "sts").Message);
    }

    [Fact]
    public void Anything_else_is_a_service_error_and_an_AwsApiException_passes_unchanged()
    {
        AwsApiException other = Translate(new InvalidOperationException("odd " + Secret));
        Assert.Equal((AwsErrorKind.ServiceError, "Lambda GetFunction failed: odd ***"), (other.Kind, other.Message));
        Assert.Same(other, Translate(other));
    }

    [Fact]
    public void A_call_s_own_secret_is_scrubbed_as_well()
    {
        const string value = "the-parameter-value-1234";
        AwsApiException error = Translator.Translate(new InvalidOperationException("echo " + value + " " + Secret), "SSM", "PutParameter", "ssm", new[] { Secret, value });
        Assert.Equal("SSM PutParameter failed: echo *** ***", error.Message);
    }

    [Theory]
    [InlineData("ResourceNotFoundException", 400, AwsErrorKind.NotFound)]
    [InlineData("NoSuchEntity", 404, AwsErrorKind.NotFound)]
    [InlineData("ObjectNotFoundException", 400, AwsErrorKind.NotFound)]
    [InlineData("ParameterNotFound", 400, AwsErrorKind.NotFound)]
    [InlineData("AccessDeniedException", 400, AwsErrorKind.AccessDenied)]
    [InlineData("AccessDenied", 403, AwsErrorKind.AccessDenied)]
    [InlineData("ValidationError", 400, AwsErrorKind.Validation)]
    [InlineData("InvalidParameterValueException", 400, AwsErrorKind.Validation)]
    [InlineData("ResourceConflictException", 409, AwsErrorKind.Conflict)]
    [InlineData("EntityAlreadyExists", 409, AwsErrorKind.Conflict)]
    [InlineData("ThrottlingException", 400, AwsErrorKind.Throttled)]
    [InlineData("TooManyRequestsException", 429, AwsErrorKind.Throttled)]
    [InlineData("InternalFailure", 500, AwsErrorKind.ServiceError)]
    [InlineData(null, 404, AwsErrorKind.NotFound)]
    public void Error_codes_map_to_kinds(string? code, int status, AwsErrorKind kind) => Assert.Equal(kind, AwsErrors.Classify(code, status));
}
