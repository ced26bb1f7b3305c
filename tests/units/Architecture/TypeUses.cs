using System.Reflection;

namespace PrefectScaling.Architecture.Tests;

/// <summary>The types a type names: in its signature, its members' signatures and attributes, its locals, and
/// the tokens of its method bodies. A `using` line alone names nothing, so unlike a grep this has no false
/// positives; compiler-made nested types (lambdas, async state machines) count for the namespace they sit in.</summary>
internal static class TypeUses
{
    private const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic |
                                          BindingFlags.Instance | BindingFlags.Static;

    /// <summary>Pairs (user, used) for every type of <paramref name="assembly"/> whose namespace passes
    /// <paramref name="from"/>.</summary>
    public static IEnumerable<(Type User, Type Used)> In(Assembly assembly, Func<Type, bool> from) =>
        assembly.GetTypes().Where(from).SelectMany(user => Of(user).Select(used => (user, used)));

    public static HashSet<Type> Of(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t == null || t.IsGenericParameter) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (Type argument in t.GetGenericArguments()) Add(argument);
                return;
            }
            found.Add(t);
        }
        void AddAttributes(IEnumerable<CustomAttributeData> attributes)
        {
            foreach (CustomAttributeData attribute in attributes) Add(attribute.AttributeType);
        }
        void AddMember(MemberInfo? member)
        {
            switch (member)
            {
                case Type t: Add(t); break;
                case FieldInfo f: Add(f.DeclaringType); Add(f.FieldType); break;
                case MethodBase m:
                    Add(m.DeclaringType);
                    if (m is MethodInfo mi)
                    {
                        Add(mi.ReturnType);
                        if (mi.IsGenericMethod) foreach (Type argument in mi.GetGenericArguments()) Add(argument);
                    }
                    foreach (ParameterInfo p in m.GetParameters()) Add(p.ParameterType);
                    break;
            }
        }

        Add(type.BaseType);
        foreach (Type i in type.GetInterfaces()) Add(i);
        AddAttributes(type.CustomAttributes);
        foreach (FieldInfo f in type.GetFields(Declared)) { Add(f.FieldType); AddAttributes(f.CustomAttributes); }
        foreach (PropertyInfo p in type.GetProperties(Declared)) { Add(p.PropertyType); AddAttributes(p.CustomAttributes); }
        foreach (EventInfo e in type.GetEvents(Declared)) Add(e.EventHandlerType);
        foreach (MethodBase m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            AddMember(m);
            AddAttributes(m.CustomAttributes);
            MethodBody? body = m.GetMethodBody();
            if (body == null) continue;
            foreach (LocalVariableInfo local in body.LocalVariables) Add(local.LocalType);
            foreach (MemberInfo used in BodyTokens(m, body)) AddMember(used);
        }
        return found;
    }

    /// <summary>The types, methods and fields a method body's instructions name.</summary>
    private static IEnumerable<MemberInfo> BodyTokens(MethodBase method, MethodBody body)
    {
        byte[] il = body.GetILAsByteArray() ?? Array.Empty<byte>();
        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        foreach (int token in IlTokens.Of(il, method.ToString() ?? method.Name))
            yield return method.Module.ResolveMember(token, typeArguments, methodArguments)!;
    }
}
