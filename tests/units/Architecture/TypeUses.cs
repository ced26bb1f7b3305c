using System.Reflection;
using System.Reflection.Emit;

namespace PrefectScaling.Architecture.Tests;

/// <summary>The types a type names: in its signature, its members' signatures and attributes, its locals, and
/// the tokens of its method bodies. A `using` line alone names nothing, so unlike a grep this has no false
/// positives; compiler-made nested types (lambdas, async state machines) count for the namespace they sit in.</summary>
internal static class TypeUses
{
    private const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic |
                                          BindingFlags.Instance | BindingFlags.Static;

    private static readonly OpCode?[] OneByte = new OpCode?[0x100];
    private static readonly OpCode?[] TwoByte = new OpCode?[0x100];

    static TypeUses()
    {
        foreach (FieldInfo field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var code = (OpCode)field.GetValue(null)!;
            ushort value = unchecked((ushort)code.Value);
            if (value < 0x100) OneByte[value] = code;
            else if ((value & 0xFF00) == 0xFE00) TwoByte[value & 0xFF] = code;
        }
    }

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
        int at = 0;
        while (at < il.Length)
        {
            OpCode code = (il[at] == 0xFE ? TwoByte[il[++at]] : OneByte[il[at]])
                          ?? throw new InvalidOperationException("Unknown opcode at IL_" + at.ToString("x4") + " of " + method);
            at++;
            switch (code.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar: at += 1; break;
                case OperandType.InlineVar: at += 2; break;
                case OperandType.InlineI8:
                case OperandType.InlineR: at += 8; break;
                case OperandType.InlineSwitch: at += 4 + 4 * BitConverter.ToInt32(il, at); break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    yield return method.Module.ResolveMember(BitConverter.ToInt32(il, at), typeArguments, methodArguments)!;
                    at += 4;
                    break;
                default: at += 4; break;
            }
        }
    }
}
