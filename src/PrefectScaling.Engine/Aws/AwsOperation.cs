using System;
using System.Collections.Generic;

namespace PrefectScaling.Aws
{
    public enum AwsProtocol
    {
        /// <summary>awsQuery: form-encoded Action/Version, XML answers (CloudWatch, IAM).</summary>
        Query,
        /// <summary>awsJson 1.0/1.1: POST / with X-Amz-Target (Application Auto Scaling, EventBridge, ECS, CloudWatch Logs, SQS).</summary>
        Json,
        /// <summary>restJson1: method and path per operation (Lambda).</summary>
        RestJson,
    }

    /// <summary>What the engine knows of one AWS service: enough to find its endpoint, sign for it and speak
    /// its protocol.</summary>
    public sealed class AwsService
    {
        private AwsService(string name, string serviceId, string signingName, string endpointPrefix, AwsProtocol protocol,
            string apiVersion, string? targetPrefix = null, string? jsonVersion = null, bool isGlobal = false)
        {
            Name = name;
            ServiceId = serviceId;
            SigningName = signingName;
            EndpointPrefix = endpointPrefix;
            Protocol = protocol;
            ApiVersion = apiVersion;
            TargetPrefix = targetPrefix;
            JsonVersion = jsonVersion;
            IsGlobal = isGlobal;
            EndpointVariable = "AWS_ENDPOINT_URL_" + serviceId.ToUpperInvariant().Replace(' ', '_');
        }

        /// <summary>The name used in messages: CloudWatch, ApplicationAutoScaling, EventBridge, Lambda, IAM, ECS.</summary>
        public string Name { get; }
        /// <summary>The SDK service id ("Application Auto Scaling"); it names the endpoint variable.</summary>
        public string ServiceId { get; }
        /// <summary>The SigV4 signing name (monitoring, application-autoscaling, events, lambda, iam, ecs).</summary>
        public string SigningName { get; }
        public string EndpointPrefix { get; }
        public AwsProtocol Protocol { get; }
        public string ApiVersion { get; }
        /// <summary>AWS_ENDPOINT_URL_&lt;SERVICE_ID&gt;, e.g. AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING.</summary>
        public string EndpointVariable { get; }
        internal string? TargetPrefix { get; }
        internal string? JsonVersion { get; }
        /// <summary>One endpoint per partition (IAM), signed for the partition's home region.</summary>
        internal bool IsGlobal { get; }

        public override string ToString() => Name;

        public static readonly AwsService CloudWatch = new AwsService("CloudWatch", "CloudWatch", "monitoring", "monitoring", AwsProtocol.Query, "2010-08-01");
        public static readonly AwsService ApplicationAutoScaling = new AwsService("ApplicationAutoScaling", "Application Auto Scaling", "application-autoscaling", "application-autoscaling", AwsProtocol.Json, "2016-02-06", "AnyScaleFrontendService", "1.1");
        public static readonly AwsService EventBridge = new AwsService("EventBridge", "EventBridge", "events", "events", AwsProtocol.Json, "2015-10-07", "AWSEvents", "1.1");
        public static readonly AwsService Lambda = new AwsService("Lambda", "Lambda", "lambda", "lambda", AwsProtocol.RestJson, "2015-03-31");
        public static readonly AwsService Iam = new AwsService("IAM", "IAM", "iam", "iam", AwsProtocol.Query, "2010-05-08", isGlobal: true);
        public static readonly AwsService Ecs = new AwsService("ECS", "ECS", "ecs", "ecs", AwsProtocol.Json, "2014-11-13", "AmazonEC2ContainerServiceV20141113", "1.1");
        public static readonly AwsService Logs = new AwsService("CloudWatchLogs", "CloudWatch Logs", "logs", "logs", AwsProtocol.Json, "2014-03-28", "Logs_20140328", "1.1");
        /// <summary>SQS in its JSON protocol (awsJson 1.0), which moto and the SDKs speak alike.</summary>
        public static readonly AwsService Sqs = new AwsService("SQS", "SQS", "sqs", "sqs", AwsProtocol.Json, "2012-11-05", "AmazonSQS", "1.0");

        /// <summary>Every service the generic clients speak to (SSM and STS use the SDK's own clients).</summary>
        internal static readonly IReadOnlyList<AwsService> All = new[] { CloudWatch, ApplicationAutoScaling, EventBridge, Lambda, Iam, Ecs, Logs, Sqs };
    }

    /// <summary>One operation of one service: its name and, for rest-json, its method and path. Requests and
    /// answers are JSON objects shaped like the AWS API reference (member names as AWS spells them).</summary>
    public sealed class AwsOperation
    {
        private static readonly string[] None = Array.Empty<string>();

        private AwsOperation(AwsService service, string name, string httpMethod, string? requestUri,
            IReadOnlyCollection<string>? queryMembers, IReadOnlyCollection<string>? listElements)
        {
            Service = service;
            Name = name;
            HttpMethod = httpMethod;
            RequestUri = requestUri;
            QueryMembers = queryMembers ?? None;
            ListElements = new HashSet<string>(listElements ?? None, StringComparer.Ordinal);
        }

        public AwsService Service { get; }
        public string Name { get; }
        /// <summary>POST for query and json; the operation's own method for rest-json.</summary>
        public string HttpMethod { get; }
        /// <summary>rest-json only: the path template, e.g. /2015-03-31/functions/{FunctionName}.</summary>
        public string? RequestUri { get; }
        /// <summary>rest-json only: input members sent in the query string.</summary>
        internal IReadOnlyCollection<string> QueryMembers { get; }
        /// <summary>query only: XML elements that are lists even when they come back empty.</summary>
        internal ISet<string> ListElements { get; }

        public override string ToString() => Service.Name + " " + Name;

        internal static AwsOperation Query(AwsService service, string name, params string[] listElements) =>
            new AwsOperation(service, name, "POST", null, null, listElements);

        internal static AwsOperation Json(AwsService service, string name) =>
            new AwsOperation(service, name, "POST", null, null, null);

        internal static AwsOperation Rest(AwsService service, string name, string method, string requestUri, params string[] queryMembers) =>
            new AwsOperation(service, name, method, requestUri, queryMembers, null);
    }
}
