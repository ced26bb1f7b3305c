using System;
using System.Net;
using System.Net.Sockets;
using PrefectScaling.Prefect;

namespace PrefectScaling.Publisher
{
    /// <summary>Whether the function, running in AWS, can reach a URL's host as written: a loopback, private or
    /// link-local address works from the installing machine but not from Lambda (a private one only from a VPC
    /// that routes to it). Host names other than localhost are not resolved: what they name inside a VPC is
    /// the VPC's business.</summary>
    public static class LambdaReach
    {
        /// <summary>Null when nothing is wrong as far as the URL tells; else why, e.g. "a loopback address (127.0.0.0/8)".
        /// <paramref name="inVpc"/>: the function is attached to subnets (which can reach private addresses).</summary>
        public static string? Problem(Uri url, bool inVpc)
        {
            (string? kind, bool vpcHelps) = Check(url);
            return kind == null || (vpcHelps && inVpc) ? null : kind;
        }

        /// <summary>The warning Install gives for a URL the function cannot reach, with what to do; null when none.</summary>
        public static string? Warning(Uri url, bool inVpc)
        {
            string? problem = Problem(url, inVpc);
            if (problem == null) return null;
            bool vpcHelps = Check(url).VpcHelps;
            return "The Prefect API URL " + PrefectConnectionSettings.Printable(url) + " is " + problem
                + ", which the function, running in AWS Lambda, cannot reach" + (inVpc ? " even from its subnets" : string.Empty) + ". "
                + (inVpc || vpcHelps
                    ? "Give the server's address in the VPC" + (inVpc ? string.Empty : " and -SubnetId/-SecurityGroupId of subnets that route to it") + "."
                    : "Give an address the function can reach (a public URL, Prefect Cloud, or a private address with -SubnetId/-SecurityGroupId).");
        }

        private static (string? Kind, bool VpcHelps) Check(Uri url)
        {
            if (url == null) throw new ArgumentNullException(nameof(url));
            string host = url.Host.Trim('[', ']');
            if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
                return ("localhost (the function's own loopback)", false);
            if (!IPAddress.TryParse(host, out IPAddress? address)) return (null, false);
            if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
            return Classify(address);
        }

        private static (string? Kind, bool VpcHelps) Classify(IPAddress address)
        {
            byte[] b = address.GetAddressBytes();
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                if (b[0] == 127) return ("a loopback address (127.0.0.0/8)", false);
                if (b[0] == 0) return ("an unspecified address (0.0.0.0/8)", false);
                if (b[0] == 169 && b[1] == 254) return ("a link-local address (169.254.0.0/16)", false);
                if (b[0] == 10) return ("a private address (10.0.0.0/8)", true);
                if (b[0] == 172 && (b[1] & 0xF0) == 16) return ("a private address (172.16.0.0/12)", true);
                if (b[0] == 192 && b[1] == 168) return ("a private address (192.168.0.0/16)", true);
                return (null, false);
            }
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                if (IPAddress.IPv6Loopback.Equals(address)) return ("a loopback address (::1)", false);
                if (IPAddress.IPv6Any.Equals(address)) return ("an unspecified address (::)", false);
                if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return ("a link-local address (fe80::/10)", false);
                if ((b[0] & 0xFE) == 0xFC) return ("a unique local address (fc00::/7)", true);
            }
            return (null, false);
        }
    }
}
