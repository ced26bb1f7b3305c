namespace PrefectScaling.Aws
{
    /// <summary>The engine's ways of making an AwsApiException, which lives in the Model.</summary>
    internal static class AwsApiExceptionFactory
    {
        extension(AwsApiException)
        {
            /// <summary>No region, no credentials, a bad profile: before any call, so no service and no operation.</summary>
            internal static AwsApiException InvalidSettings(string message) =>
                new AwsApiException(AwsErrorKind.InvalidSettings, "AWS", "settings", message);
        }
    }
}
