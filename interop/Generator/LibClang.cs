using System.Runtime.InteropServices;

namespace DynRec.Interop.Generator;

// The slice of libclang's C API (clang-c/Index.h) the generator needs.
// Struct layouts mirror CXString, CXCursor and CXType on 64-bit platforms.
[StructLayout(LayoutKind.Sequential)]
internal struct CXString
{
    public IntPtr Data;
    public uint PrivateFlags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXCursor
{
    public int Kind;
    public int XData;
    public IntPtr Data0, Data1, Data2;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXType
{
    public int Kind;
    public IntPtr Data0, Data1;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CXSourceLocation
{
    public IntPtr Ptr0, Ptr1;
    public uint IntData;
}

internal static unsafe partial class LibClang
{
    private const string Lib = "libclang";

    public const int CXCursor_EnumDecl = 5;
    public const int CXCursor_FunctionDecl = 8;
    public const int CXCursor_EnumConstantDecl = 7;
    public const int CXCursor_ParmDecl = 10;
    public const int CXCursor_TypedefDecl = 20;
    public const int CXChildVisit_Break = 0;
    public const int CXChildVisit_Continue = 1;
    public const int CXTranslationUnit_SkipFunctionBodies = 0x40;
    public const int CXType_Typedef = 107;
    public const int CXType_Elaborated = 119;
    public const int CXType_Enum = 106;

    [LibraryImport(Lib)] public static partial IntPtr clang_createIndex(int excludeDeclarationsFromPCH, int displayDiagnostics);
    [LibraryImport(Lib)] public static partial void clang_disposeIndex(IntPtr index);
    [LibraryImport(Lib)]
    public static partial IntPtr clang_parseTranslationUnit(IntPtr index, byte* sourceFilename, byte** commandLineArgs,
        int numCommandLineArgs, IntPtr unsavedFiles, uint numUnsavedFiles, uint options);
    [LibraryImport(Lib)] public static partial void clang_disposeTranslationUnit(IntPtr tu);
    [LibraryImport(Lib)] public static partial uint clang_getNumDiagnostics(IntPtr tu);
    [LibraryImport(Lib)] public static partial IntPtr clang_getDiagnostic(IntPtr tu, uint index);
    [LibraryImport(Lib)] public static partial CXString clang_formatDiagnostic(IntPtr diagnostic, uint options);
    [LibraryImport(Lib)] public static partial uint clang_defaultDiagnosticDisplayOptions();
    [LibraryImport(Lib)] public static partial int clang_getDiagnosticSeverity(IntPtr diagnostic);
    [LibraryImport(Lib)] public static partial void clang_disposeDiagnostic(IntPtr diagnostic);
    [LibraryImport(Lib)] public static partial CXCursor clang_getTranslationUnitCursor(IntPtr tu);
    [LibraryImport(Lib)]
    public static partial uint clang_visitChildren(CXCursor parent,
        delegate* unmanaged[Cdecl]<CXCursor, CXCursor, IntPtr, int> visitor, IntPtr clientData);
    [LibraryImport(Lib)] public static partial CXString clang_getCursorSpelling(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getCursorType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getCursorResultType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXType clang_getEnumDeclIntegerType(CXCursor cursor);
    [LibraryImport(Lib)] public static partial long clang_getEnumConstantDeclValue(CXCursor cursor);
    [LibraryImport(Lib)] public static partial int clang_Cursor_getNumArguments(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXCursor clang_Cursor_getArgument(CXCursor cursor, uint index);
    [LibraryImport(Lib)] public static partial CXString clang_Cursor_getRawCommentText(CXCursor cursor);
    [LibraryImport(Lib)] public static partial CXString clang_getTypeSpelling(CXType type);
    [LibraryImport(Lib)] public static partial CXType clang_getCanonicalType(CXType type);
    [LibraryImport(Lib)] public static partial CXSourceLocation clang_getCursorLocation(CXCursor cursor);
    [LibraryImport(Lib)] public static partial int clang_Location_isFromMainFile(CXSourceLocation location);
    [LibraryImport(Lib)] public static partial byte* clang_getCString(CXString str);
    [LibraryImport(Lib)] public static partial void clang_disposeString(CXString str);

    // Copies a CXString into a managed string and disposes it.
    public static string Take(CXString s)
    {
        try
        {
            var p = clang_getCString(s);
            return p == null ? "" : Marshal.PtrToStringUTF8((IntPtr)p) ?? "";
        }
        finally
        {
            clang_disposeString(s);
        }
    }
}
