using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;

namespace PrefectScaling.Aws
{
    /// <summary>SSM Parameter Store calls on plain String parameters under one path: how a publisher stores its
    /// bindings, one parameter each. Every listing is bounded by the caller's maximum.</summary>
    public sealed partial class AwsContext
    {
        /// <summary>GetParametersByPath's largest page (SSM API reference: MaxResults 1-10).</summary>
        private const int ParametersByPathPage = 10;

        /// <summary>Every parameter under <paramref name="path"/>, at any depth, with its value (String parameters;
        /// SecureStrings come back encrypted). More than <paramref name="maxParameters"/> is an error, never a cut.</summary>
        public async Task<IReadOnlyList<SsmParameterInfo>> GetParametersByPathAsync(string path, int maxParameters, IEngineLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("A parameter path is required.", nameof(path));
            log ??= NullEngineLog.Instance;
            AmazonSimpleSystemsManagementClient ssm = Ssm(log);
            var found = new List<SsmParameterInfo>();
            var request = new GetParametersByPathRequest { Path = path, Recursive = true, WithDecryption = false, MaxResults = ParametersByPathPage };
            // SSM may answer short pages, even empty ones, with a token to go on: the bound is a page per parameter.
            for (int page = 0; ; page++)
            {
                if (page > maxParameters + 1) throw TooMany("GetParametersByPath", path, maxParameters);
                log.Verbose("SSM GetParametersByPath " + path + " in " + Region + (page > 0 ? " (page " + (page + 1) + ")" : string.Empty));
                GetParametersByPathResponse response = await Typed(SsmName, "GetParametersByPath", () => ssm.GetParametersByPathAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                foreach (Parameter p in response.Parameters ?? new List<Parameter>())
                {
                    found.Add(new SsmParameterInfo { Name = p.Name, Type = p.Type?.Value ?? string.Empty, Value = p.Value, Version = p.Version ?? 0, LastModified = p.LastModifiedDate, Arn = p.ARN });
                }
                if (found.Count > maxParameters) throw TooMany("GetParametersByPath", path, maxParameters);
                if (string.IsNullOrEmpty(response.NextToken)) return found;
                request.NextToken = response.NextToken;
            }
        }

        /// <summary>SSM ListTagsForResource of one parameter; null when the parameter does not exist. (DescribeParameters
        /// can filter by tags, but it pages over every parameter of the account, so its cost is not bounded by ours.)</summary>
        public async Task<IReadOnlyDictionary<string, string>?> ListParameterTagsAsync(string name, IEngineLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter name is required.", nameof(name));
            log ??= NullEngineLog.Instance;
            AmazonSimpleSystemsManagementClient ssm = Ssm(log);
            log.Verbose("SSM ListTagsForResource " + name + " in " + Region);
            try
            {
                ListTagsForResourceResponse response = await Typed(SsmName, "ListTagsForResource",
                    () => ssm.ListTagsForResourceAsync(new ListTagsForResourceRequest { ResourceType = ResourceTypeForTagging.Parameter, ResourceId = name }, cancellationToken), cancellationToken).ConfigureAwait(false);
                var tags = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (Tag tag in response.TagList ?? new List<Tag>()) tags[tag.Key] = tag.Value;
                return tags;
            }
            catch (AwsApiException exception) when (exception.ErrorCode == "InvalidResourceId" || exception.ErrorCode == "ParameterNotFound")
            {
                return null;
            }
        }

        /// <summary>SSM PutParameter as a plain String: created with <paramref name="tags"/>, or its value replaced
        /// (AWS refuses tags together with Overwrite, so an existing parameter keeps the tags it has).</summary>
        public async Task PutStringParameterAsync(string name, string value, string? description, IReadOnlyDictionary<string, string> tags, bool exists, IEngineLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter name is required.", nameof(name));
            if (value == null) throw new ArgumentNullException(nameof(value));
            log ??= NullEngineLog.Instance;
            AmazonSimpleSystemsManagementClient ssm = Ssm(log);
            log.Verbose("SSM PutParameter " + name + " (String) in " + Region);
            var put = new PutParameterRequest { Name = name, Value = value, Type = ParameterType.String, Description = description, Tier = ParameterTier.Standard };
            if (exists) put.Overwrite = true;
            else put.Tags = tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList();
            await Typed(SsmName, "PutParameter", () => ssm.PutParameterAsync(put, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        private AwsApiException TooMany(string operation, string path, int maxParameters) =>
            new AwsApiException(AwsErrorKind.Validation, "SSM", operation,
                "There are more than " + maxParameters + " parameters under " + path + " in " + Region + "; the module reads at most that many there.");
    }
}
