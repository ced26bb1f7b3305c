using System;

namespace PrefectScaling.Aws
{
    /// <summary>An SSM Parameter Store parameter as GetParameter returned it.</summary>
    public sealed class SsmParameterInfo
    {
        public string Name { get; set; } = string.Empty;
        /// <summary>String, StringList or SecureString.</summary>
        public string Type { get; set; } = string.Empty;
        /// <summary>The value; for a SecureString read without decryption, the ciphertext.</summary>
        public string? Value { get; set; }
        public long Version { get; set; }
        public DateTime? LastModified { get; set; }
        public string? Arn { get; set; }

        /// <summary>Never shows the value.</summary>
        public override string ToString() => Name + " (" + Type + ", version " + Version + ")";
    }
}
