using Xunit;

namespace PrefectScaling.Publisher.Tests;

/// <summary>Which Prefect URLs the publisher's function cannot reach as written.</summary>
public sealed class LambdaReachTests
{
    [Theory]
    [InlineData("http://127.0.0.1:4200/api", "loopback address (127.0.0.0/8)")]
    [InlineData("http://127.255.1.2/api", "loopback address (127.0.0.0/8)")]
    [InlineData("http://localhost:4200/api", "localhost")]
    [InlineData("http://LOCALHOST/api", "localhost")]
    [InlineData("http://prefect.localhost/api", "localhost")]
    [InlineData("http://[::1]:4200/api", "loopback address (::1)")]
    [InlineData("http://[::ffff:127.0.0.1]/api", "loopback address (127.0.0.0/8)")]
    [InlineData("http://0.0.0.0:4200/api", "unspecified address")]
    [InlineData("http://169.254.10.20/api", "link-local address (169.254.0.0/16)")]
    [InlineData("http://[fe80::1]/api", "link-local address (fe80::/10)")]
    [InlineData("http://[febf::1]/api", "link-local address (fe80::/10)")]
    [InlineData("http://10.1.2.3:4200/api", "private address (10.0.0.0/8)")]
    [InlineData("http://172.16.0.1/api", "private address (172.16.0.0/12)")]
    [InlineData("http://172.31.255.254/api", "private address (172.16.0.0/12)")]
    [InlineData("http://192.168.1.10/api", "private address (192.168.0.0/16)")]
    [InlineData("http://[::ffff:192.168.1.10]/api", "private address (192.168.0.0/16)")]
    [InlineData("http://[fc00::1]/api", "unique local address (fc00::/7)")]
    [InlineData("http://[fd12:3456::1]/api", "unique local address (fc00::/7)")]
    public void Unreachable_outside_a_VPC(string url, string expected)
    {
        Assert.Contains(expected, LambdaReach.Problem(new Uri(url), inVpc: false));
    }

    [Theory]
    [InlineData("http://10.1.2.3:4200/api")]
    [InlineData("http://172.20.0.5/api")]
    [InlineData("http://192.168.1.10/api")]
    [InlineData("http://[fd12:3456::1]/api")]
    public void Private_addresses_are_reachable_from_a_VPC(string url)
    {
        Assert.Null(LambdaReach.Problem(new Uri(url), inVpc: true));
    }

    [Theory]
    [InlineData("http://127.0.0.1:4200/api")]
    [InlineData("http://localhost/api")]
    [InlineData("http://169.254.169.254/api")]
    [InlineData("http://[fe80::1]/api")]
    public void Loopback_and_link_local_are_unreachable_even_from_a_VPC(string url)
    {
        Assert.NotNull(LambdaReach.Problem(new Uri(url), inVpc: true));
    }

    [Theory]
    [InlineData("https://api.prefect.cloud/api/accounts/a/workspaces/w")]
    [InlineData("http://prefect.internal:4200/api")]
    [InlineData("http://172.15.255.255/api")]
    [InlineData("http://172.32.0.1/api")]
    [InlineData("http://192.169.0.1/api")]
    [InlineData("http://11.0.0.1/api")]
    [InlineData("http://169.253.0.1/api")]
    [InlineData("http://[2001:db8::1]/api")]
    [InlineData("http://[fec0::1]/api")]
    [InlineData("http://notlocalhost/api")]
    public void Public_addresses_and_other_names_pass(string url)
    {
        Assert.Null(LambdaReach.Problem(new Uri(url), inVpc: false));
    }
}
