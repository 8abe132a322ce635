namespace DynRec.Interop.Generator;

// What the generator extracts from the header: enums and functions, with
// the C spelling of every type (kept for [NativeTypeName]).
internal sealed record EnumConstant(string Name, long Value, string? Comment);

internal sealed record EnumDecl(string Name, string IntegerType, IReadOnlyList<EnumConstant> Constants, string? Comment);

internal sealed record Parameter(string Name, string CType, string CanonicalType);

internal sealed record FunctionDecl(string Name, string ReturnCType, string ReturnCanonicalType,
    IReadOnlyList<Parameter> Parameters, string? Comment);

internal sealed record HeaderModel(IReadOnlyList<EnumDecl> Enums, IReadOnlyList<FunctionDecl> Functions);
