using System;

namespace PrefectScaling.Prefect
{
    /// <summary>Why a Prefect call failed; the ErrorRecord's id is "Prefect" + the kind.</summary>
    // Int64-backed, like BacklogMeasure, so that ConvertTo-Json writes the name.
    public enum PrefectErrorKind : long
    {
        InvalidSettings,
        Unauthorized,
        NotFound,
        InvalidRequest,
        RateLimited,
        ServerError,
        Unavailable,
        Timeout,
        ConnectionFailed,
        UnexpectedResponse,
        Unsupported,

        /// <summary>An answer or a listing larger than any real Prefect server sends: refused, never cut short.</summary>
        TooLarge,
    }

    /// <summary>A Prefect call that failed, with a message fit to show a user: it names the endpoint and
    /// what the server said, never a credential.</summary>
    public sealed class PrefectApiException : Exception
    {
        public PrefectApiException(PrefectErrorKind kind, string message, int? statusCode = null, string? endpoint = null, Exception? inner = null)
            : base(message, inner)
        {
            Kind = kind;
            StatusCode = statusCode;
            Endpoint = endpoint;
        }

        public PrefectErrorKind Kind { get; }
        public int? StatusCode { get; }
        public string? Endpoint { get; }
    }
}
