namespace PrefectScaling.Aws
{
    /// <summary>The operations the module calls, one definition each. Pass one to AwsContext.InvokeAsync
    /// with a JSON object shaped like the operation's request in the AWS API reference.</summary>
    public static class AwsOperations
    {
        public static class CloudWatch
        {
            private static readonly AwsService S = AwsService.CloudWatch;
            public static readonly AwsOperation PutMetricData = AwsOperation.Query(S, "PutMetricData");
            public static readonly AwsOperation GetMetricData = AwsOperation.Query(S, "GetMetricData", "MetricDataResults", "Timestamps", "Values", "Messages");
            public static readonly AwsOperation GetMetricStatistics = AwsOperation.Query(S, "GetMetricStatistics", "Datapoints");
            public static readonly AwsOperation ListMetrics = AwsOperation.Query(S, "ListMetrics", "Metrics", "Dimensions", "OwningAccounts");
            public static readonly AwsOperation PutMetricAlarm = AwsOperation.Query(S, "PutMetricAlarm");
            public static readonly AwsOperation DescribeAlarms = AwsOperation.Query(S, "DescribeAlarms",
                "MetricAlarms", "CompositeAlarms", "Dimensions", "AlarmActions", "OKActions", "InsufficientDataActions", "Metrics");
            public static readonly AwsOperation DeleteAlarms = AwsOperation.Query(S, "DeleteAlarms");
            /// <summary>Input member ResourceARN (an alarm's ARN); answers Tags.</summary>
            public static readonly AwsOperation ListTagsForResource = AwsOperation.Query(S, "ListTagsForResource", "Tags");
            /// <summary>Input members DashboardName and DashboardBody (a JSON text); answers DashboardValidationMessages.</summary>
            public static readonly AwsOperation PutDashboard = AwsOperation.Query(S, "PutDashboard", "DashboardValidationMessages");
            /// <summary>Answers DashboardName, DashboardArn and DashboardBody; ResourceNotFound when there is none.</summary>
            public static readonly AwsOperation GetDashboard = AwsOperation.Query(S, "GetDashboard");
            public static readonly AwsOperation DeleteDashboards = AwsOperation.Query(S, "DeleteDashboards");
        }

        public static class ApplicationAutoScaling
        {
            private static readonly AwsService S = AwsService.ApplicationAutoScaling;
            public static readonly AwsOperation RegisterScalableTarget = AwsOperation.Json(S, "RegisterScalableTarget");
            public static readonly AwsOperation DescribeScalableTargets = AwsOperation.Json(S, "DescribeScalableTargets");
            public static readonly AwsOperation DeregisterScalableTarget = AwsOperation.Json(S, "DeregisterScalableTarget");
            public static readonly AwsOperation PutScalingPolicy = AwsOperation.Json(S, "PutScalingPolicy");
            public static readonly AwsOperation DescribeScalingPolicies = AwsOperation.Json(S, "DescribeScalingPolicies");
            public static readonly AwsOperation DeleteScalingPolicy = AwsOperation.Json(S, "DeleteScalingPolicy");
            public static readonly AwsOperation DescribeScalingActivities = AwsOperation.Json(S, "DescribeScalingActivities");
            public static readonly AwsOperation DescribeScheduledActions = AwsOperation.Json(S, "DescribeScheduledActions");
        }

        public static class EventBridge
        {
            private static readonly AwsService S = AwsService.EventBridge;
            public static readonly AwsOperation PutRule = AwsOperation.Json(S, "PutRule");
            public static readonly AwsOperation DescribeRule = AwsOperation.Json(S, "DescribeRule");
            public static readonly AwsOperation DeleteRule = AwsOperation.Json(S, "DeleteRule");
            public static readonly AwsOperation EnableRule = AwsOperation.Json(S, "EnableRule");
            public static readonly AwsOperation DisableRule = AwsOperation.Json(S, "DisableRule");
            public static readonly AwsOperation ListRules = AwsOperation.Json(S, "ListRules");
            public static readonly AwsOperation PutTargets = AwsOperation.Json(S, "PutTargets");
            public static readonly AwsOperation RemoveTargets = AwsOperation.Json(S, "RemoveTargets");
            public static readonly AwsOperation ListTargetsByRule = AwsOperation.Json(S, "ListTargetsByRule");
            public static readonly AwsOperation ListTagsForResource = AwsOperation.Json(S, "ListTagsForResource");
            public static readonly AwsOperation TagResource = AwsOperation.Json(S, "TagResource");
        }

        public static class Lambda
        {
            private static readonly AwsService S = AwsService.Lambda;
            private const string Function = "/2015-03-31/functions/{FunctionName}";
            public static readonly AwsOperation CreateFunction = AwsOperation.Rest(S, "CreateFunction", "POST", "/2015-03-31/functions");
            public static readonly AwsOperation GetFunction = AwsOperation.Rest(S, "GetFunction", "GET", Function, "Qualifier");
            public static readonly AwsOperation GetFunctionConfiguration = AwsOperation.Rest(S, "GetFunctionConfiguration", "GET", Function + "/configuration", "Qualifier");
            public static readonly AwsOperation UpdateFunctionCode = AwsOperation.Rest(S, "UpdateFunctionCode", "PUT", Function + "/code");
            public static readonly AwsOperation UpdateFunctionConfiguration = AwsOperation.Rest(S, "UpdateFunctionConfiguration", "PUT", Function + "/configuration");
            public static readonly AwsOperation DeleteFunction = AwsOperation.Rest(S, "DeleteFunction", "DELETE", Function, "Qualifier");
            public static readonly AwsOperation AddPermission = AwsOperation.Rest(S, "AddPermission", "POST", Function + "/policy", "Qualifier");
            public static readonly AwsOperation RemovePermission = AwsOperation.Rest(S, "RemovePermission", "DELETE", Function + "/policy/{StatementId}", "Qualifier", "RevisionId");
            public static readonly AwsOperation GetPolicy = AwsOperation.Rest(S, "GetPolicy", "GET", Function + "/policy", "Qualifier");
            public static readonly AwsOperation ListFunctions = AwsOperation.Rest(S, "ListFunctions", "GET", "/2015-03-31/functions/", "Marker", "MaxItems");
            /// <summary>Input member Resource: the function ARN.</summary>
            public static readonly AwsOperation ListTags = AwsOperation.Rest(S, "ListTags", "GET", "/2017-03-31/tags/{Resource}");
            /// <summary>Input members Resource (the function ARN) and Tags.</summary>
            public static readonly AwsOperation TagResource = AwsOperation.Rest(S, "TagResource", "POST", "/2017-03-31/tags/{Resource}");

            // The push path: the function URL Prefect's webhook calls, and the reserved concurrency that caps it.
            private const string Url = "/2021-10-31/functions/{FunctionName}/url";
            public static readonly AwsOperation CreateFunctionUrlConfig = AwsOperation.Rest(S, "CreateFunctionUrlConfig", "POST", Url, "Qualifier");
            public static readonly AwsOperation GetFunctionUrlConfig = AwsOperation.Rest(S, "GetFunctionUrlConfig", "GET", Url, "Qualifier");
            public static readonly AwsOperation UpdateFunctionUrlConfig = AwsOperation.Rest(S, "UpdateFunctionUrlConfig", "PUT", Url, "Qualifier");
            public static readonly AwsOperation DeleteFunctionUrlConfig = AwsOperation.Rest(S, "DeleteFunctionUrlConfig", "DELETE", Url, "Qualifier");
            public static readonly AwsOperation PutFunctionConcurrency = AwsOperation.Rest(S, "PutFunctionConcurrency", "PUT", "/2017-10-31/functions/{FunctionName}/concurrency");
            public static readonly AwsOperation GetFunctionConcurrency = AwsOperation.Rest(S, "GetFunctionConcurrency", "GET", "/2019-09-30/functions/{FunctionName}/concurrency");
            public static readonly AwsOperation DeleteFunctionConcurrency = AwsOperation.Rest(S, "DeleteFunctionConcurrency", "DELETE", "/2017-10-31/functions/{FunctionName}/concurrency");

            // The event source mapping that lets the publisher's sample queue invoke it.
            private const string Mappings = "/2015-03-31/event-source-mappings";
            public static readonly AwsOperation CreateEventSourceMapping = AwsOperation.Rest(S, "CreateEventSourceMapping", "POST", Mappings);
            public static readonly AwsOperation ListEventSourceMappings = AwsOperation.Rest(S, "ListEventSourceMappings", "GET", Mappings, "EventSourceArn", "FunctionName", "Marker", "MaxItems");
            public static readonly AwsOperation GetEventSourceMapping = AwsOperation.Rest(S, "GetEventSourceMapping", "GET", Mappings + "/{UUID}");
            public static readonly AwsOperation UpdateEventSourceMapping = AwsOperation.Rest(S, "UpdateEventSourceMapping", "PUT", Mappings + "/{UUID}");
            public static readonly AwsOperation DeleteEventSourceMapping = AwsOperation.Rest(S, "DeleteEventSourceMapping", "DELETE", Mappings + "/{UUID}");
        }

        public static class Iam
        {
            private static readonly AwsService S = AwsService.Iam;
            public static readonly AwsOperation CreateRole = AwsOperation.Query(S, "CreateRole", "Tags");
            public static readonly AwsOperation GetRole = AwsOperation.Query(S, "GetRole", "Tags");
            public static readonly AwsOperation DeleteRole = AwsOperation.Query(S, "DeleteRole");
            public static readonly AwsOperation UpdateAssumeRolePolicy = AwsOperation.Query(S, "UpdateAssumeRolePolicy");
            public static readonly AwsOperation PutRolePolicy = AwsOperation.Query(S, "PutRolePolicy");
            public static readonly AwsOperation GetRolePolicy = AwsOperation.Query(S, "GetRolePolicy");
            public static readonly AwsOperation ListRolePolicies = AwsOperation.Query(S, "ListRolePolicies", "PolicyNames");
            public static readonly AwsOperation DeleteRolePolicy = AwsOperation.Query(S, "DeleteRolePolicy");
            public static readonly AwsOperation AttachRolePolicy = AwsOperation.Query(S, "AttachRolePolicy");
            public static readonly AwsOperation DetachRolePolicy = AwsOperation.Query(S, "DetachRolePolicy");
            public static readonly AwsOperation ListAttachedRolePolicies = AwsOperation.Query(S, "ListAttachedRolePolicies", "AttachedPolicies");
            public static readonly AwsOperation TagRole = AwsOperation.Query(S, "TagRole");
        }

        public static class Ecs
        {
            private static readonly AwsService S = AwsService.Ecs;
            public static readonly AwsOperation DescribeServices = AwsOperation.Json(S, "DescribeServices");
            public static readonly AwsOperation ListClusters = AwsOperation.Json(S, "ListClusters");
            public static readonly AwsOperation ListServices = AwsOperation.Json(S, "ListServices");
            public static readonly AwsOperation CreateCluster = AwsOperation.Json(S, "CreateCluster");
            public static readonly AwsOperation DeleteCluster = AwsOperation.Json(S, "DeleteCluster");
            public static readonly AwsOperation RegisterTaskDefinition = AwsOperation.Json(S, "RegisterTaskDefinition");
            public static readonly AwsOperation DeregisterTaskDefinition = AwsOperation.Json(S, "DeregisterTaskDefinition");
            public static readonly AwsOperation CreateService = AwsOperation.Json(S, "CreateService");
            public static readonly AwsOperation UpdateService = AwsOperation.Json(S, "UpdateService");
            public static readonly AwsOperation DeleteService = AwsOperation.Json(S, "DeleteService");
            /// <summary>With include ["SETTINGS"]: each cluster's settings (containerInsights) and capacity providers.</summary>
            public static readonly AwsOperation DescribeClusters = AwsOperation.Json(S, "DescribeClusters");
            public static readonly AwsOperation DescribeCapacityProviders = AwsOperation.Json(S, "DescribeCapacityProviders");
            public static readonly AwsOperation ListContainerInstances = AwsOperation.Json(S, "ListContainerInstances");
            public static readonly AwsOperation DescribeContainerInstances = AwsOperation.Json(S, "DescribeContainerInstances");
            public static readonly AwsOperation DescribeTaskDefinition = AwsOperation.Json(S, "DescribeTaskDefinition");
            public static readonly AwsOperation CreateCapacityProvider = AwsOperation.Json(S, "CreateCapacityProvider");
            public static readonly AwsOperation PutClusterCapacityProviders = AwsOperation.Json(S, "PutClusterCapacityProviders");
            public static readonly AwsOperation RegisterContainerInstance = AwsOperation.Json(S, "RegisterContainerInstance");
            /// <summary>Input cluster, serviceName, desiredStatus, nextToken, maxResults (up to 100); answers taskArns, nextToken.</summary>
            public static readonly AwsOperation ListTasks = AwsOperation.Json(S, "ListTasks");
            /// <summary>Input cluster and tasks (up to 100); answers tasks and failures.</summary>
            public static readonly AwsOperation DescribeTasks = AwsOperation.Json(S, "DescribeTasks");
            /// <summary>Input cluster, tasks (up to 10), protectionEnabled, expiresInMinutes (1 to 2880); answers
            /// protectedTasks and failures.</summary>
            public static readonly AwsOperation UpdateTaskProtection = AwsOperation.Json(S, "UpdateTaskProtection");
            /// <summary>Input cluster and tasks (up to 100); answers protectedTasks and failures.</summary>
            public static readonly AwsOperation GetTaskProtection = AwsOperation.Json(S, "GetTaskProtection");
            /// <summary>Tests only: moto starts no task for a service.</summary>
            public static readonly AwsOperation RunTask = AwsOperation.Json(S, "RunTask");
            public static readonly AwsOperation StopTask = AwsOperation.Json(S, "StopTask");
        }

        /// <summary>The queue of a sub-minute publisher's delayed samples (see Publisher/SampleChain.cs).</summary>
        public static class Sqs
        {
            private static readonly AwsService S = AwsService.Sqs;
            /// <summary>Input QueueName, Attributes (a map of strings), tags (a map); answers QueueUrl.</summary>
            public static readonly AwsOperation CreateQueue = AwsOperation.Json(S, "CreateQueue");
            /// <summary>Input QueueName; answers QueueUrl, or QueueDoesNotExist (NotFound).</summary>
            public static readonly AwsOperation GetQueueUrl = AwsOperation.Json(S, "GetQueueUrl");
            public static readonly AwsOperation GetQueueAttributes = AwsOperation.Json(S, "GetQueueAttributes");
            public static readonly AwsOperation SetQueueAttributes = AwsOperation.Json(S, "SetQueueAttributes");
            /// <summary>Answers Tags (a map).</summary>
            public static readonly AwsOperation ListQueueTags = AwsOperation.Json(S, "ListQueueTags");
            public static readonly AwsOperation DeleteQueue = AwsOperation.Json(S, "DeleteQueue");
            /// <summary>Answers Successful and Failed: a batch can fail in part.</summary>
            public static readonly AwsOperation SendMessageBatch = AwsOperation.Json(S, "SendMessageBatch");
            public static readonly AwsOperation ReceiveMessage = AwsOperation.Json(S, "ReceiveMessage");
            public static readonly AwsOperation DeleteMessage = AwsOperation.Json(S, "DeleteMessage");
        }

        /// <summary>The publisher's log group: created with a retention by Install, deleted by Uninstall.</summary>
        public static class Logs
        {
            private static readonly AwsService S = AwsService.Logs;
            public static readonly AwsOperation CreateLogGroup = AwsOperation.Json(S, "CreateLogGroup");
            public static readonly AwsOperation DeleteLogGroup = AwsOperation.Json(S, "DeleteLogGroup");
            public static readonly AwsOperation PutRetentionPolicy = AwsOperation.Json(S, "PutRetentionPolicy");
            public static readonly AwsOperation DescribeLogGroups = AwsOperation.Json(S, "DescribeLogGroups");
            /// <summary>Input logGroupName, startTime (epoch ms), filterPattern, limit, nextToken; answers events (timestamp, message).</summary>
            public static readonly AwsOperation FilterLogEvents = AwsOperation.Json(S, "FilterLogEvents");
            /// <summary>Tests only: what the function's runtime writes.</summary>
            public static readonly AwsOperation CreateLogStream = AwsOperation.Json(S, "CreateLogStream");
            public static readonly AwsOperation PutLogEvents = AwsOperation.Json(S, "PutLogEvents");
            /// <summary>Input member resourceArn (a log group's ARN without ":*"); answers tags (a map).</summary>
            public static readonly AwsOperation ListTagsForResource = AwsOperation.Json(S, "ListTagsForResource");
        }
    }
}
