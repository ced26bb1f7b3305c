using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading.Tasks;
using Amazon.Runtime;
using PrefectScaling.Aws.Protocol;
using PrefectScaling.Aws.Sdk;

namespace PrefectScaling.Aws
{
    /// <summary>Turns whatever a call threw (an AWS error answer, a network failure, a request the SDK refused) into an
    /// AwsApiException with a kind and a message that says what to do, with every known secret scrubbed out.</summary>
    internal sealed class AwsErrorTranslator
    {
        private readonly IReadOnlyList<string> _secrets;
        private readonly IReadOnlyList<string> _sources;

        /// <param name="secrets">Secret values that must never appear in a message (the credentials).</param>
        /// <param name="sources">Where the settings came from; the credentials' source is named when they fail.</param>
        public AwsErrorTranslator(IReadOnlyList<string> secrets, IReadOnlyList<string> sources)
        {
            _secrets = secrets;
            _sources = sources;
        }

        /// <param name="endpoint">The URL the call went to, named when it could not be reached.</param>
        /// <param name="secrets">Overrides the known secrets, for a call that carries another one (SSM PutParameter's value).</param>
        public AwsApiException Translate(Exception exception, string service, string operation, string endpoint, IReadOnlyList<string>? secrets = null)
        {
            IReadOnlyList<string> known = secrets ?? _secrets;
            string Scrub(string text) => AwsSecrets.Scrub(text, known);
            switch (exception)
            {
                case AwsApiException already:
                    return already;
                case SdkServiceErrorException sdk:
                    return AwsErrors.FromService(service, operation, (int)sdk.StatusCode, sdk.Info, Scrub, exception);
                case AmazonServiceException amazon when amazon.StatusCode != 0:
                    var info = new AwsErrorInfo
                    {
                        Code = string.IsNullOrEmpty(amazon.ErrorCode) ? null : amazon.ErrorCode,
                        Message = amazon.Message,
                        RequestId = string.IsNullOrEmpty(amazon.RequestId) ? null : amazon.RequestId,
                    };
                    return AwsErrors.FromService(service, operation, (int)amazon.StatusCode, info, Scrub, exception);
            }
            if (IsNetworkFailure(exception))
                return AwsErrors.ConnectionFailed(service, operation, endpoint, exception, Scrub);
            if (exception is ArgumentException)
                return new AwsApiException(AwsErrorKind.Validation, service, operation, service + " " + operation + " was not sent: " + Scrub(exception.Message), inner: exception);
            if (exception is AmazonClientException)
                return new AwsApiException(AwsErrorKind.InvalidSettings, service, operation,
                    service + " " + operation + " failed before reaching AWS: " + Scrub(AwsErrors.Innermost(exception).Message)
                    + " Check the AWS credentials (" + CredentialSource() + ").", inner: exception);
            return new AwsApiException(AwsErrorKind.ServiceError, service, operation, service + " " + operation + " failed: " + Scrub(exception.Message), inner: exception);
        }

        private string CredentialSource()
        {
            foreach (string source in _sources)
                if (source.StartsWith("credentials: ", StringComparison.Ordinal)) return source.Substring("credentials: ".Length);
            return "none found";
        }

        internal static bool IsNetworkFailure(Exception exception)
        {
            for (Exception? current = exception; current != null; current = current.InnerException)
            {
                if (current is HttpRequestException || current is SocketException || current is IOException || current is System.Net.WebException
                    || current is TaskCanceledException || current is TimeoutException)
                    return true;
            }
            return false;
        }
    }
}
