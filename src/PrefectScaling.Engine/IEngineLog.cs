namespace PrefectScaling
{
    /// <summary>Where the engine reports what it is doing; the cmdlets turn this into verbose and debug
    /// streams, the Lambda publisher into log lines. Never given a secret.</summary>
    public interface IEngineLog
    {
        void Verbose(string message);
        void Debug(string message);
    }

    public sealed class NullEngineLog : IEngineLog
    {
        public static readonly NullEngineLog Instance = new NullEngineLog();
        public void Verbose(string message) { }
        public void Debug(string message) { }
    }
}
