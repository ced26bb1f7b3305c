using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace PrefectScaling.Aws.Protocol
{
    /// <summary>AWS's error code, message and request id as read from an error answer.</summary>
    internal sealed class AwsErrorInfo
    {
        public string? Code { get; set; }
        public string? Message { get; set; }
        public string? RequestId { get; set; }
    }

    /// <summary>The one place that reads AWS error answers and turns failures into AwsApiException.</summary>
    internal static class AwsErrors
    {
        private const int MaxMessageLength = 600;

        private static readonly HashSet<string> NotFoundCodes = Set(
            "ResourceNotFoundException", "ResourceNotFound", "NoSuchEntity", "ObjectNotFoundException", "ParameterNotFound",
            "ClusterNotFoundException", "ServiceNotFoundException", "NotFoundException", "NotFound", "ResourceNotFoundFault",
            "ParameterVersionNotFound", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue");
        private static readonly HashSet<string> AccessDeniedCodes = Set(
            "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "UnrecognizedClientException",
            "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken", "ExpiredToken",
            "ExpiredTokenException", "AuthFailure", "InvalidSignatureException", "NotAuthorized", "OptInRequired");
        private static readonly HashSet<string> ValidationCodes = Set(
            "ValidationError", "ValidationException", "InvalidParameterValue", "InvalidParameterValueException", "InvalidParameterException",
            "InvalidParameterCombination", "MissingParameter", "MalformedPolicyDocument", "MalformedPolicyDocumentException",
            "InvalidInput", "InvalidRequestException", "SerializationException", "InvalidAction", "InvalidQueryParameter",
            "InvalidEventPatternException", "ParameterPatternMismatch", "UnsupportedParameterType", "InvalidParameterInput",
            "InvalidKeyId", "HierarchyLevelLimitExceededException", "InvalidFormat", "ClientException");
        private static readonly HashSet<string> ConflictCodes = Set(
            "ResourceConflictException", "ConflictException", "EntityAlreadyExists", "ResourceAlreadyExistsException",
            "ResourceInUseException", "DeleteConflict", "ConcurrentModificationException", "ConcurrentUpdateException",
            "ParameterAlreadyExists", "ResourceInUse", "ClusterContainsServicesException", "ClusterContainsTasksException",
            "ServiceNotActiveException", "ConcurrentModification", "QueueAlreadyExists", "QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently");
        private static readonly HashSet<string> ThrottledCodes = Set(
            "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
            "RequestThrottled", "RequestThrottledException", "SlowDown", "ProvisionedThroughputExceededException",
            "TooManyUpdates");

        public static AwsErrorKind Classify(string? code, int? status)
        {
            if (code != null)
            {
                if (NotFoundCodes.Contains(code)) return AwsErrorKind.NotFound;
                if (AccessDeniedCodes.Contains(code)) return AwsErrorKind.AccessDenied;
                if (ValidationCodes.Contains(code)) return AwsErrorKind.Validation;
                if (ConflictCodes.Contains(code)) return AwsErrorKind.Conflict;
                if (ThrottledCodes.Contains(code)) return AwsErrorKind.Throttled;
            }
            switch (status)
            {
                case 404: return AwsErrorKind.NotFound;
                case 401:
                case 403: return AwsErrorKind.AccessDenied;
                case 409: return AwsErrorKind.Conflict;
                case 429: return AwsErrorKind.Throttled;
                case 400: return AwsErrorKind.Validation;
                default: return AwsErrorKind.ServiceError;
            }
        }

        /// <summary>Reads an error answer of either family (JSON or XML), whichever the body turns out to be.</summary>
        public static AwsErrorInfo Parse(Func<string, string?> header, byte[] body)
        {
            var info = new AwsErrorInfo
            {
                RequestId = header("x-amzn-RequestId") ?? header("x-amz-request-id"),
                Code = CleanCode(header("x-amzn-ErrorType")),
            };
            string text = ResponseDecoder.IsBlank(body) ? string.Empty : ResponseDecoder.Text(body).Trim();
            if (text.StartsWith("{", StringComparison.Ordinal)) ReadJson(text, info);
            else if (text.StartsWith("<", StringComparison.Ordinal)) ReadXml(body, info);
            return info;
        }

        private static void ReadJson(string text, AwsErrorInfo info)
        {
            try
            {
                if (JsonNode.Parse(text) is not JsonObject obj) return;
                info.Code ??= CleanCode(StringMember(obj, "__type") ?? StringMember(obj, "code") ?? StringMember(obj, "Code"));
                info.Message ??= StringMember(obj, "message") ?? StringMember(obj, "Message") ?? StringMember(obj, "errorMessage");
            }
            catch (JsonException) { }
        }

        private static void ReadXml(byte[] body, AwsErrorInfo info)
        {
            try
            {
                XElement root = ResponseDecoder.ParseXml(body);
                string? Find(params string[] names) =>
                    root.DescendantsAndSelf().FirstOrDefault(e => !e.HasElements && names.Contains(e.Name.LocalName))?.Value;
                XElement? error = root.DescendantsAndSelf().FirstOrDefault(e => e.Name.LocalName == "Error");
                if (error == null) return; // an HTML page or some other XML: no AWS error in it
                info.Code ??= error.Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
                info.Message ??= error.Elements().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value;
                info.RequestId ??= Find("RequestId", "RequestID");
            }
            catch (System.Xml.XmlException) { }
        }

        private static string? StringMember(JsonObject obj, string name) =>
            obj[name] is JsonValue value && value.TryGetValue(out string? text) && !string.IsNullOrWhiteSpace(text) ? text : null;

        /// <summary>"aws.protocols#ResourceNotFoundException:http://..." → "ResourceNotFoundException".</summary>
        internal static string? CleanCode(string? raw)
        {
            if (string.IsNullOrWhiteSpace(raw)) return null;
            string code = raw!.Trim();
            int colon = code.IndexOf(':');
            if (colon >= 0) code = code.Substring(0, colon);
            int hash = code.LastIndexOf('#');
            if (hash >= 0) code = code.Substring(hash + 1);
            return code.Length == 0 ? null : code;
        }

        public static AwsApiException FromService(string service, string operation, int? status, AwsErrorInfo info, Func<string, string> scrub, Exception? inner)
        {
            string said = string.IsNullOrWhiteSpace(info.Message)
                ? (status.HasValue ? "the service answered HTTP " + status.Value + " without an AWS error message" : "no error message")
                : Shorten(scrub(info.Message!.Trim()));
            string message = service + " " + operation + " failed: "
                + (info.Code ?? ("HTTP " + (status?.ToString() ?? "?"))) + ": " + said
                + (info.RequestId != null ? " (request id " + info.RequestId + ")" : string.Empty);
            return new AwsApiException(Classify(info.Code, status), service, operation, message,
                info.Code, info.RequestId, status, inner);
        }

        public static AwsApiException ConnectionFailed(string service, string operation, string endpoint, Exception inner, Func<string, string> scrub)
        {
            string reason = Shorten(scrub(Innermost(inner).Message));
            return new AwsApiException(AwsErrorKind.ConnectionFailed, service, operation,
                service + " " + operation + " failed: could not reach " + endpoint + ": " + reason
                + " Check the network, the region and any -EndpointUrl / AWS_ENDPOINT_URL* setting.",
                null, null, null, inner);
        }

        internal static Exception Innermost(Exception exception)
        {
            Exception current = exception;
            while (current.InnerException != null) current = current.InnerException;
            return current;
        }

        private static string Shorten(string text) => text.Length <= MaxMessageLength ? text : text.Substring(0, MaxMessageLength) + "...";

        private static HashSet<string> Set(params string[] codes) => new HashSet<string>(codes, StringComparer.Ordinal);
    }
}
