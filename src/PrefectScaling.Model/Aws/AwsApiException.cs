using System;

namespace PrefectScaling.Aws
{
    /// <summary>Why an AWS call failed; the ErrorRecord's id is "Aws" + the kind (+ "." + AWS's error code).</summary>
    // Int64-backed, like BacklogMeasure, so that ConvertTo-Json writes the name.
    public enum AwsErrorKind : long
    {
        InvalidSettings,
        NotFound,
        AccessDenied,
        Validation,
        Conflict,
        Throttled,
        ServiceError,
        ConnectionFailed,
    }

    /// <summary>An AWS call (or the settings for one) that failed. The message names the service, the
    /// operation, AWS's error code and words and the request id; never a credential.</summary>
    public sealed class AwsApiException : Exception
    {
        public AwsApiException(AwsErrorKind kind, string service, string operation, string message,
            string? errorCode = null, string? requestId = null, int? statusCode = null, Exception? inner = null)
            : base(message, inner)
        {
            Kind = kind;
            Service = service;
            Operation = operation;
            ErrorCode = errorCode;
            RequestId = requestId;
            StatusCode = statusCode;
        }

        public AwsErrorKind Kind { get; }
        /// <summary>The AWS error code, e.g. ResourceNotFoundException, NoSuchEntity, ParameterNotFound.</summary>
        public string? ErrorCode { get; }
        public string? RequestId { get; }
        public int? StatusCode { get; }
        /// <summary>The service's display name (CloudWatch, IAM, ...); "AWS" for a settings error.</summary>
        public string Service { get; }
        /// <summary>The operation name; "settings" for a settings error.</summary>
        public string Operation { get; }
    }
}
