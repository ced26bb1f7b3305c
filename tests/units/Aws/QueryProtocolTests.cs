using System.Text.Json.Nodes;
using PrefectScaling.Aws.Protocol;

namespace PrefectScaling.Aws.Tests;

/// <summary>The awsQuery protocol on its own: a request object flattened into form pairs, an XML answer read back
/// as JSON.</summary>
public sealed class QueryProtocolTests
{
    [Fact]
    public void Query_flattening_follows_awsQuery_rules()
    {
        var pairs = RequestEncoder.Flatten(Json.Obj("""
            {"A":"x y","B":{"C":1,"D":{"E":false}},"L":[{"K":"k1"},{"K":"k2"}],"S":["a","b"],"Empty":[],"Null":null,"Big":12345678901,"F":0.25}
            """));
        Assert.Equal(new[]
        {
            "A=x y", "B.C=1", "B.D.E=false", "L.member.1.K=k1", "L.member.2.K=k2", "S.member.1=a", "S.member.2=b", "Empty=", "Big=12345678901", "F=0.25",
        }, pairs.Select(p => p.Key + "=" + p.Value));
    }

    [Fact]
    public void Query_results_become_json_generically()
    {
        byte[] xml = System.Text.Encoding.UTF8.GetBytes("""
            <DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
              <DescribeAlarmsResult>
                <MetricAlarms>
                  <member><AlarmName>a</AlarmName><Dimensions><member><Name>P</Name><Value>k8s</Value></member></Dimensions><AlarmActions/></member>
                </MetricAlarms>
                <CompositeAlarms/>
                <NextToken>t</NextToken>
              </DescribeAlarmsResult>
              <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>
            </DescribeAlarmsResponse>
            """);
        JsonNode json = ResponseDecoder.Decode(AwsOperations.CloudWatch.DescribeAlarms, xml, out string? requestId);
        Assert.Equal("rid", requestId);
        Assert.Equal("""{"MetricAlarms":[{"AlarmName":"a","Dimensions":[{"Name":"P","Value":"k8s"}],"AlarmActions":[]}],"CompositeAlarms":[],"NextToken":"t"}""", json.ToJsonString());

        byte[] noResult = System.Text.Encoding.UTF8.GetBytes("<DeleteAlarmsResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteAlarmsResponse>");
        Assert.Equal("{}", ResponseDecoder.Decode(AwsOperations.CloudWatch.DeleteAlarms, noResult, out _).ToJsonString());
    }
}
