using System;
using System.IO;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;

namespace PrefectScaling.Commands
{
    /// <summary>The one place engine exceptions become ErrorRecords: an id, a precise category and the target.</summary>
    internal static class ErrorRecords
    {
        /// <summary>The exceptions by which the engine (or a PowerShell API it is fed through) says that what was
        /// asked cannot be done: each is an error record, never a raw exception. Stops and cancellations are not
        /// among them, nor PowerShell's own errors (a -ErrorAction Stop, a terminating error).</summary>
        internal static bool IsEngineFailure(Exception e) =>
            e is PrefectApiException || e is AwsApiException
            || e is ArgumentException           // settings, names and limits the engine checks; PSArgumentException too
            || e is InvalidOperationException   // ResourceOwnershipException, a state the engine refuses to change
            || e is IOException || e is UnauthorizedAccessException
            || IsJsonException(e);

        /// <summary>System.Text.Json is the engine's dependency, not this assembly's: its JsonException (a document
        /// in what AWS answered that does not parse) is known by name, so this assembly never binds to it.</summary>
        private static bool IsJsonException(Exception e)
        {
            for (Type? type = e.GetType(); type != null; type = type.BaseType)
                if (type.FullName == "System.Text.Json.JsonException") return true;
            return false;
        }

        internal static ErrorRecord From(Exception exception, object? target)
        {
            switch (exception)
            {
                case PrefectApiException prefect:
                    return new ErrorRecord(prefect, "Prefect" + prefect.Kind, CategoryOf(prefect.Kind), target);
                case AwsApiException aws:
                    return new ErrorRecord(aws, "Aws" + aws.Kind + (aws.ErrorCode == null ? string.Empty : "." + aws.ErrorCode), CategoryOf(aws.Kind), target);
                case Scaling.ResourceOwnershipException ownership:
                    return new ErrorRecord(ownership, ownership.ErrorId, ownership.ErrorId == "ScalingDidNotSettle" ? ErrorCategory.ResourceBusy : ErrorCategory.ResourceExists, target);
                case ArgumentException argument:
                    return new ErrorRecord(argument, "InvalidArgument", ErrorCategory.InvalidArgument, target);
                case Exception json when IsJsonException(json):
                    return new ErrorRecord(json, "InvalidJson", ErrorCategory.InvalidResult, target);
                default:
                    return new ErrorRecord(exception, exception.GetType().Name, ErrorCategory.NotSpecified, target);
            }
        }

        internal static ErrorCategory CategoryOf(AwsErrorKind kind) => kind switch
        {
            AwsErrorKind.InvalidSettings => ErrorCategory.InvalidArgument,
            AwsErrorKind.NotFound => ErrorCategory.ObjectNotFound,
            AwsErrorKind.AccessDenied => ErrorCategory.PermissionDenied,
            AwsErrorKind.Validation => ErrorCategory.InvalidArgument,
            AwsErrorKind.Conflict => ErrorCategory.ResourceExists,
            AwsErrorKind.Throttled => ErrorCategory.LimitsExceeded,
            AwsErrorKind.ConnectionFailed => ErrorCategory.ConnectionError,
            _ => ErrorCategory.InvalidResult,
        };

        internal static ErrorCategory CategoryOf(PrefectErrorKind kind) => kind switch
        {
            PrefectErrorKind.InvalidSettings => ErrorCategory.InvalidArgument,
            PrefectErrorKind.Unauthorized => ErrorCategory.AuthenticationError,
            PrefectErrorKind.NotFound => ErrorCategory.ObjectNotFound,
            PrefectErrorKind.InvalidRequest => ErrorCategory.ProtocolError,
            PrefectErrorKind.RateLimited => ErrorCategory.LimitsExceeded,
            PrefectErrorKind.ServerError => ErrorCategory.InvalidResult,
            PrefectErrorKind.Unavailable => ErrorCategory.ResourceUnavailable,
            PrefectErrorKind.Timeout => ErrorCategory.OperationTimeout,
            PrefectErrorKind.ConnectionFailed => ErrorCategory.ConnectionError,
            PrefectErrorKind.UnexpectedResponse => ErrorCategory.InvalidResult,
            PrefectErrorKind.Unsupported => ErrorCategory.NotImplemented,
            PrefectErrorKind.TooLarge => ErrorCategory.LimitsExceeded,
            _ => ErrorCategory.NotSpecified,
        };
    }
}
