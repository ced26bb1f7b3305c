using System;
using System.Reflection;
using System.Threading.Tasks;
using Amazon.Runtime;

namespace PrefectScaling.Aws
{
    /// <summary>Reads the credential objects AWS Tools for PowerShell hands around: an Amazon.Runtime.AWSCredentials
    /// (-Credential, New-AWSCredential, Get-AWSCredential) and the AWSPSCredentials wrapper that Set-AWSCredential
    /// leaves in $StoredAWSCredentials. They come from AWS Tools' own AWSSDK.Core, loaded in another load context
    /// than this engine's, so they are another type even at the same version: they are recognised by type name
    /// and read through the SDK's long-stable member names (GetCredentials, AccessKey, SecretKey, Token).</summary>
    public static class AwsCredentialObjects
    {
        private const string SdkCredentialsType = "Amazon.Runtime.AWSCredentials";
        private const string ToolsCredentialsType = "Amazon.PowerShell.Common.AWSPSCredentials";
        private const BindingFlags AnyInstance = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;

        /// <summary>True for an AWSCredentials of any AWSSDK.Core copy, or AWS Tools' AWSPSCredentials.</summary>
        public static bool IsCredentialObject(object? value) =>
            value != null && (IsSdkCredentials(value.GetType()) || IsA(value.GetType(), ToolsCredentialsType));

        /// <summary>The engine's credentials for such an object, and a description of it without any secret.
        /// <paramref name="where"/> names the parameter or variable in messages.</summary>
        internal static AWSCredentials Read(object value, string where, out string description)
        {
            Type type = value.GetType();
            if (IsA(type, ToolsCredentialsType))
            {
                // AWSPSCredentials keeps the SDK object, the set's name (a profile name, "Environment Variables",
                // ...) and its source in internal properties.
                object? inner = Member(value, "Credentials");
                if (inner == null || !IsSdkCredentials(inner.GetType()))
                    throw AwsApiException.InvalidSettings(where + " holds an AWSPSCredentials with no AWS credentials in it. Run Set-AWSCredential again, or Clear-AWSCredential to stop using it.");
                string? name = Member(value, "Name") as string;
                object? source = Member(value, "Source");
                description = (string.IsNullOrEmpty(name) ? string.Empty : "'" + name + "', ")
                              + (source == null ? string.Empty : "source " + source + ", ") + inner.GetType().Name;
                return Wrap(inner);
            }
            if (IsSdkCredentials(type))
            {
                description = type.Name;
                return Wrap(value);
            }
            throw AwsApiException.InvalidSettings(where + " holds a " + type.FullName + ", not AWS credentials. Give an Amazon.Runtime.AWSCredentials object "
                + "(New-AWSCredential or Get-AWSCredential make one), or set it with Set-AWSCredential.");
        }

        private static AWSCredentials Wrap(object credentials) =>
            credentials as AWSCredentials ?? new ForeignAwsCredentials(credentials);

        private static bool IsSdkCredentials(Type type) => IsA(type, SdkCredentialsType);

        private static bool IsA(Type? type, string fullName)
        {
            for (; type != null; type = type.BaseType)
                if (string.Equals(type.FullName, fullName, StringComparison.Ordinal)) return true;
            return false;
        }

        internal static object? Member(object value, string name)
        {
            for (Type? type = value.GetType(); type != null; type = type.BaseType)
            {
                PropertyInfo? property = type.GetProperty(name, AnyInstance | BindingFlags.DeclaredOnly);
                if (property != null && property.GetIndexParameters().Length == 0) return property.GetValue(value);
            }
            return null;
        }
    }

    /// <summary>An AWSCredentials of another AWSSDK.Core copy, asked for its keys at every signing so that
    /// refreshing credentials (assumed roles, SSO) keep refreshing in their own SDK.</summary>
    internal sealed class ForeignAwsCredentials : AWSCredentials
    {
        private readonly object _inner;
        private readonly MethodInfo _get;
        private readonly MethodInfo? _getAsync;

        public ForeignAwsCredentials(object inner)
        {
            _inner = inner;
            Type type = inner.GetType();
            _get = type.GetMethod("GetCredentials", BindingFlags.Public | BindingFlags.Instance, null, Type.EmptyTypes, null)
                   ?? throw AwsApiException.InvalidSettings("The " + type.FullName + " object has no GetCredentials method this module knows how to call.");
            MethodInfo? getAsync = type.GetMethod("GetCredentialsAsync", BindingFlags.Public | BindingFlags.Instance, null, Type.EmptyTypes, null);
            _getAsync = getAsync != null && typeof(Task).IsAssignableFrom(getAsync.ReturnType) ? getAsync : null;
        }

        public override ImmutableCredentials GetCredentials() => Copy(Call(_get));

        public override async Task<ImmutableCredentials> GetCredentialsAsync()
        {
            if (_getAsync == null) return GetCredentials();
            var task = (Task)Call(_getAsync)!;
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not AmazonClientException)
            {
                throw Failed(exception);
            }
            return Copy(task.GetType().GetProperty("Result")?.GetValue(task));
        }

        private object? Call(MethodInfo method)
        {
            try
            {
                return method.Invoke(_inner, null);
            }
            catch (TargetInvocationException exception) when (exception.InnerException != null)
            {
                throw Failed(exception.InnerException);
            }
        }

        private AmazonClientException Failed(Exception exception) =>
            new AmazonClientException("The " + _inner.GetType().Name + " credentials could not give keys: " + exception.Message, exception);

        private ImmutableCredentials Copy(object? keys)
        {
            string? access = keys == null ? null : AwsCredentialObjects.Member(keys, "AccessKey") as string;
            string? secret = keys == null ? null : AwsCredentialObjects.Member(keys, "SecretKey") as string;
            string? token = keys == null ? null : AwsCredentialObjects.Member(keys, "Token") as string;
            if (string.IsNullOrEmpty(access) || string.IsNullOrEmpty(secret))
                throw new AmazonClientException("The " + _inner.GetType().Name + " credentials gave no access key and secret key.");
            return new ImmutableCredentials(access, secret, string.IsNullOrEmpty(token) ? null : token);
        }
    }
}
