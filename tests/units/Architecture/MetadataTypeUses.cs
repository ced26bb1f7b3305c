using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace PrefectScaling.Architecture.Tests;

/// <summary>What <see cref="TypeUses"/> finds, read from an assembly file's metadata instead of loaded types: for an
/// assembly that cannot be loaded here, such as the cmdlets, whose base types live in PowerShell. Each pair is (the
/// top-level type, the full name of a type it names) from its base and interfaces, the signatures of its fields and
/// methods, its locals, the tokens of its method bodies, and its attributes (typeof arguments included).
/// Compiler-made nested types (lambdas, async state machines) count for the type they sit in.</summary>
internal static class MetadataTypeUses
{
    public static List<(string User, string Used)> In(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        MetadataReader md = pe.GetMetadataReader();
        var names = new Names(md);
        var uses = new List<(string, string)>();
        foreach (TypeDefinitionHandle handle in md.TypeDefinitions)
        {
            TypeDefinition type = md.GetTypeDefinition(handle);
            string user = names.Outermost(handle);
            var used = new HashSet<string>(StringComparer.Ordinal);
            names.AddEntity(used, type.BaseType);
            foreach (InterfaceImplementationHandle i in type.GetInterfaceImplementations()) names.AddEntity(used, md.GetInterfaceImplementation(i).Interface);
            names.AddAttributes(used, type.GetCustomAttributes());
            foreach (FieldDefinitionHandle f in type.GetFields())
            {
                FieldDefinition field = md.GetFieldDefinition(f);
                used.UnionWith(field.DecodeSignature(names, null));
                names.AddAttributes(used, field.GetCustomAttributes());
            }
            foreach (PropertyDefinitionHandle p in type.GetProperties()) names.AddAttributes(used, md.GetPropertyDefinition(p).GetCustomAttributes());
            foreach (MethodDefinitionHandle m in type.GetMethods())
            {
                MethodDefinition method = md.GetMethodDefinition(m);
                names.AddMethodSignature(used, method.DecodeSignature(names, null));
                names.AddAttributes(used, method.GetCustomAttributes());
                if (method.RelativeVirtualAddress == 0) continue;
                MethodBodyBlock body = pe.GetMethodBody(method.RelativeVirtualAddress);
                if (!body.LocalSignature.IsNil)
                    foreach (List<string> local in md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(names, null)) used.UnionWith(local);
                foreach (int token in IlTokens.Of(body.GetILBytes(), user)) names.AddEntity(used, MetadataTokens.EntityHandle(token));
            }
            uses.AddRange(used.Select(u => (user, u)));
        }
        return uses.Distinct().ToList();
    }

    /// <summary>Decodes signatures into the full names of the types they name.</summary>
    private sealed class Names : ISignatureTypeProvider<List<string>, object?>, ICustomAttributeTypeProvider<List<string>>
    {
        private readonly MetadataReader _md;

        public Names(MetadataReader md) { _md = md; }

        public string Outermost(TypeDefinitionHandle handle)
        {
            TypeDefinition type = _md.GetTypeDefinition(handle);
            TypeDefinitionHandle outer = type.GetDeclaringType();
            return outer.IsNil ? FullName(_md.GetString(type.Namespace), _md.GetString(type.Name)) : Outermost(outer);
        }

        public void AddEntity(HashSet<string> used, EntityHandle handle)
        {
            if (handle.IsNil) return;
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition: used.Add(Outermost((TypeDefinitionHandle)handle)); break;
                case HandleKind.TypeReference: used.UnionWith(GetTypeFromReference(_md, (TypeReferenceHandle)handle, 0)); break;
                case HandleKind.TypeSpecification: used.UnionWith(GetTypeFromSpecification(_md, null, (TypeSpecificationHandle)handle, 0)); break;
                case HandleKind.FieldDefinition:
                    FieldDefinition field = _md.GetFieldDefinition((FieldDefinitionHandle)handle);
                    used.Add(Outermost(field.GetDeclaringType()));
                    used.UnionWith(field.DecodeSignature(this, null));
                    break;
                case HandleKind.MethodDefinition:
                    MethodDefinition method = _md.GetMethodDefinition((MethodDefinitionHandle)handle);
                    used.Add(Outermost(method.GetDeclaringType()));
                    AddMethodSignature(used, method.DecodeSignature(this, null));
                    break;
                case HandleKind.MemberReference:
                    MemberReference member = _md.GetMemberReference((MemberReferenceHandle)handle);
                    AddEntity(used, member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Field) used.UnionWith(member.DecodeFieldSignature(this, null));
                    else AddMethodSignature(used, member.DecodeMethodSignature(this, null));
                    break;
                case HandleKind.MethodSpecification:
                    MethodSpecification spec = _md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    AddEntity(used, spec.Method);
                    foreach (List<string> argument in spec.DecodeSignature(this, null)) used.UnionWith(argument);
                    break;
            }
        }

        public void AddMethodSignature(HashSet<string> used, MethodSignature<List<string>> signature)
        {
            used.UnionWith(signature.ReturnType);
            foreach (List<string> parameter in signature.ParameterTypes) used.UnionWith(parameter);
        }

        public void AddAttributes(HashSet<string> used, CustomAttributeHandleCollection attributes)
        {
            foreach (CustomAttributeHandle handle in attributes)
            {
                CustomAttribute attribute = _md.GetCustomAttribute(handle);
                AddEntity(used, attribute.Constructor);
                CustomAttributeValue<List<string>> value;
                try { value = attribute.DecodeValue(this); }
                catch (BadImageFormatException) { continue; }
                // A typeof argument is stored as a type name string, not a token: it is named here too.
                foreach (var argument in value.FixedArguments.Concat(value.NamedArguments.Select(n => new CustomAttributeTypedArgument<List<string>>(n.Type, n.Value))))
                    AddArgument(used, argument);
            }
        }

        private static void AddArgument(HashSet<string> used, CustomAttributeTypedArgument<List<string>> argument)
        {
            switch (argument.Value)
            {
                case List<string> type: used.UnionWith(type); break;
                case ImmutableArray<CustomAttributeTypedArgument<List<string>>> items: foreach (var item in items) AddArgument(used, item); break;
            }
        }

        private static string FullName(string ns, string name) => ns.Length == 0 ? name : ns + "." + name;

        private static List<string> Of(params List<string>[] parts) => parts.SelectMany(p => p).ToList();

        public List<string> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            TypeReference type = reader.GetTypeReference(handle);
            // A nested type's reference has its declaring type as scope: the outermost carries the namespace.
            if (type.ResolutionScope.Kind == HandleKind.TypeReference) return GetTypeFromReference(reader, (TypeReferenceHandle)type.ResolutionScope, rawTypeKind);
            return new List<string> { FullName(reader.GetString(type.Namespace), reader.GetString(type.Name)) };
        }

        public List<string> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => new() { Outermost(handle) };
        public List<string> GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public List<string> GetPrimitiveType(PrimitiveTypeCode typeCode) => new();
        public List<string> GetSZArrayType(List<string> elementType) => elementType;
        public List<string> GetArrayType(List<string> elementType, ArrayShape shape) => elementType;
        public List<string> GetByReferenceType(List<string> elementType) => elementType;
        public List<string> GetPointerType(List<string> elementType) => elementType;
        public List<string> GetPinnedType(List<string> elementType) => elementType;
        public List<string> GetModifiedType(List<string> modifier, List<string> unmodifiedType, bool isRequired) => Of(modifier, unmodifiedType);
        public List<string> GetGenericInstantiation(List<string> genericType, ImmutableArray<List<string>> typeArguments) => Of(typeArguments.Prepend(genericType).ToArray());
        public List<string> GetGenericMethodParameter(object? context, int index) => new();
        public List<string> GetGenericTypeParameter(object? context, int index) => new();
        public List<string> GetFunctionPointerType(MethodSignature<List<string>> signature) => Of(signature.ParameterTypes.Prepend(signature.ReturnType).ToArray());
        public List<string> GetSystemType() => new() { "System.Type" };
        public List<string> GetTypeFromSerializedName(string name) => new() { name.Split(',')[0].Split('+')[0].Trim() };
        // An enum argument's width is not in the blob; the attributes the cmdlets carry take Int32 enums (PowerShell's).
        public PrimitiveTypeCode GetUnderlyingEnumType(List<string> type) => PrimitiveTypeCode.Int32;
        public bool IsSystemType(List<string> type) => type.Count == 1 && type[0] == "System.Type";
    }
}
