using System.Reflection;
using PrefectScaling.Aws;

namespace PrefectScaling.Architecture.Tests;

/// <summary>The cmdlets load in PowerShell's default context while AWSSDK.* loads privately: no public member
/// of the engine may name an AWSSDK type.</summary>
public sealed class PublicSurfaceTests
{
    [Fact]
    public void No_public_engine_member_names_an_AWSSDK_type()
    {
        Assembly engine = typeof(AwsContext).Assembly;
        var offenders = new List<string>();
        void Check(Type? type, string where)
        {
            if (type == null) return;
            if (type.IsGenericType) foreach (Type argument in type.GetGenericArguments()) Check(argument, where);
            if (type.HasElementType) Check(type.GetElementType(), where);
            if (type.Assembly.GetName().Name?.StartsWith("AWSSDK", StringComparison.Ordinal) == true) offenders.Add(where + ": " + type.FullName);
        }
        foreach (Type type in engine.GetExportedTypes())
        {
            Check(type.BaseType, type.FullName!);
            foreach (Type implemented in type.GetInterfaces()) Check(implemented, type.FullName!);
            const BindingFlags visible = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (MemberInfo member in type.GetMembers(visible | BindingFlags.NonPublic))
            {
                string where = type.FullName + "." + member.Name;
                switch (member)
                {
                    case MethodBase method when method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly:
                        if (method is MethodInfo info) Check(info.ReturnType, where);
                        foreach (ParameterInfo parameter in method.GetParameters()) Check(parameter.ParameterType, where);
                        break;
                    case PropertyInfo property when property.GetMethod?.IsPublic == true || property.SetMethod?.IsPublic == true:
                        Check(property.PropertyType, where);
                        break;
                    case FieldInfo field when field.IsPublic || field.IsFamily:
                        Check(field.FieldType, where);
                        break;
                }
            }
        }
        Assert.Empty(offenders);
        Assert.Contains(typeof(AwsContext), engine.GetExportedTypes());
    }
}
