using System;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher
{
    /// <summary>Waits on Lambda: for a new role to become usable, and for a function to be ready for the next call.</summary>
    internal sealed class LambdaWaiter
    {
        private static readonly TimeSpan RolePropagation = TimeSpan.FromSeconds(90);
        private static readonly TimeSpan FunctionReady = TimeSpan.FromMinutes(5);
        private readonly AwsContext _aws;

        public LambdaWaiter(AwsContext aws)
        {
            _aws = aws;
        }

        /// <summary>CreateFunction. A role IAM has only just created cannot be assumed by Lambda for some seconds:
        /// retry until it can.</summary>
        public async Task CreateFunctionAsync(JsonObject input, bool roleJustCreated, IEngineLog log, CancellationToken ct)
        {
            DateTime giveUp = DateTime.UtcNow + (roleJustCreated ? RolePropagation : TimeSpan.Zero);
            while (true)
            {
                try
                {
                    await _aws.InvokeAsync(AwsOperations.Lambda.CreateFunction, input, log, ct).ConfigureAwait(false);
                    return;
                }
                catch (AwsApiException e) when (e.ErrorCode == "InvalidParameterValueException" && e.Message.IndexOf("assume", StringComparison.OrdinalIgnoreCase) >= 0 && DateTime.UtcNow < giveUp)
                {
                    log.Verbose("The new IAM role is not usable by Lambda yet; trying again in 5 s.");
                    await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                }
            }
        }

        /// <summary>Waits until the function is Active and no update is in progress.</summary>
        public async Task WaitUntilReadyAsync(string name, IEngineLog log, CancellationToken ct)
        {
            DateTime giveUp = DateTime.UtcNow + FunctionReady;
            while (true)
            {
                JsonNode? configuration = await _aws.InvokeAsync(AwsOperations.Lambda.GetFunctionConfiguration, new JsonObject { ["FunctionName"] = name }, log, ct).ConfigureAwait(false);
                string state = (string?)configuration?["State"] ?? "Active";
                string update = (string?)configuration?["LastUpdateStatus"] ?? "Successful";
                if (state == "Failed" || update == "Failed")
                    throw new AwsApiException(AwsErrorKind.ServiceError, "Lambda", "GetFunctionConfiguration",
                        "The Lambda function " + name + " failed to become ready: " + ((string?)configuration?["StateReason"] ?? (string?)configuration?["LastUpdateStatusReason"] ?? state) + ".");
                if (state == "Active" && update != "InProgress") return;
                if (DateTime.UtcNow > giveUp)
                    throw new AwsApiException(AwsErrorKind.ServiceError, "Lambda", "GetFunctionConfiguration", "The Lambda function " + name + " was not ready after " + FunctionReady.TotalMinutes + " minutes (state " + state + ", update " + update + ").");
                log.Verbose("Waiting for the Lambda function " + name + " (state " + state + ", update " + update + ").");
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
        }
    }
}
