namespace Amazon.PowerShell.Common
{
    // The shape of AWS Tools' wrapper in $StoredAWSCredentials: its members are internal there, as here.
    public enum CredentialsSource { Strings, Profile, CredentialsObject, Session, Environment, Container, InstanceProfile, Unknown }

    public sealed class AWSPSCredentials
    {
        internal AWSPSCredentials(object? credentials, string name, CredentialsSource source)
        {
            Credentials = credentials;
            Name = name;
            Source = source;
        }

        internal object? Credentials { get; }
        internal string Name { get; }
        internal CredentialsSource Source { get; }
    }
}
