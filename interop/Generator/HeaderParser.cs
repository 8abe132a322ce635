using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace DynRec.Interop.Generator;

// Parses the header with libclang and collects the declarations that come
// from the header itself (not from <stdint.h> and friends).
internal static unsafe class HeaderParser
{
    public static HeaderModel Parse(string headerPath, string includeDir, string? resourceDir)
    {
        resourceDir ??= FindResourceDir();
        var args = new List<string> { "-x", "c", "-std=c99", "-I", includeDir, "-fparse-all-comments" };
        if (resourceDir != null)
        {
            args.Add("-resource-dir");
            args.Add(resourceDir);
        }

        var index = LibClang.clang_createIndex(0, 0);
        try
        {
            var tu = ParseUnit(index, headerPath, args);
            try
            {
                ThrowOnErrors(tu, headerPath);
                var collector = new Collector();
                var handle = GCHandle.Alloc(collector);
                try
                {
                    LibClang.clang_visitChildren(LibClang.clang_getTranslationUnitCursor(tu), &VisitTopLevel,
                        GCHandle.ToIntPtr(handle));
                }
                finally
                {
                    handle.Free();
                }
                return new HeaderModel(collector.Enums, collector.Functions);
            }
            finally
            {
                LibClang.clang_disposeTranslationUnit(tu);
            }
        }
        finally
        {
            LibClang.clang_disposeIndex(index);
        }
    }

    private static IntPtr ParseUnit(IntPtr index, string headerPath, List<string> args)
    {
        var utf8Args = args.Select(a => Marshal.StringToCoTaskMemUTF8(a)).ToArray();
        var file = Marshal.StringToCoTaskMemUTF8(headerPath);
        try
        {
            fixed (IntPtr* argv = utf8Args)
            {
                var tu = LibClang.clang_parseTranslationUnit(index, (byte*)file, (byte**)argv, utf8Args.Length,
                    IntPtr.Zero, 0, LibClang.CXTranslationUnit_SkipFunctionBodies);
                if (tu == IntPtr.Zero) throw new InvalidOperationException($"libclang could not parse {headerPath}");
                return tu;
            }
        }
        finally
        {
            foreach (var a in utf8Args) Marshal.FreeCoTaskMem(a);
            Marshal.FreeCoTaskMem(file);
        }
    }

    private static void ThrowOnErrors(IntPtr tu, string headerPath)
    {
        var errors = new StringBuilder();
        var n = LibClang.clang_getNumDiagnostics(tu);
        for (uint i = 0; i < n; i++)
        {
            var d = LibClang.clang_getDiagnostic(tu, i);
            // Severity >= 2 is a warning; bindings from a header with warnings are refused.
            if (LibClang.clang_getDiagnosticSeverity(d) >= 2)
                errors.AppendLine(LibClang.Take(LibClang.clang_formatDiagnostic(d, LibClang.clang_defaultDiagnosticDisplayOptions())));
            LibClang.clang_disposeDiagnostic(d);
        }
        if (errors.Length > 0)
            throw new InvalidOperationException($"{headerPath} has diagnostics:\n{errors}");
    }

    // clang's builtin headers (stddef.h, stdint.h' helpers) are not shipped with
    // the NuGet libclang; borrow the resource dir of an installed clang.
    private static string? FindResourceDir()
    {
        var env = Environment.GetEnvironmentVariable("DYNREC_CLANG_RESOURCE_DIR");
        if (!string.IsNullOrEmpty(env)) return env;
        foreach (var clang in new[] { "clang", "clang-14", "clang-15", "clang-16", "clang-17", "clang-18", "clang-19" })
        {
            try
            {
                var psi = new ProcessStartInfo(clang, "-print-resource-dir")
                {
                    RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                };
                using var p = Process.Start(psi);
                if (p == null) continue;
                var dir = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit();
                if (p.ExitCode == 0 && Directory.Exists(Path.Combine(dir, "include"))) return dir;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed under that name
            }
        }
        return null;
    }

    private sealed class Collector
    {
        public readonly List<EnumDecl> Enums = new();
        public readonly List<FunctionDecl> Functions = new();
        public readonly List<EnumConstant> PendingConstants = new();
    }

    private static string? Comment(CXCursor c)
    {
        var text = LibClang.Take(LibClang.clang_Cursor_getRawCommentText(c));
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int VisitTopLevel(CXCursor cursor, CXCursor parent, IntPtr data)
    {
        var collector = (Collector)GCHandle.FromIntPtr(data).Target!;
        if (LibClang.clang_Location_isFromMainFile(LibClang.clang_getCursorLocation(cursor)) == 0)
            return LibClang.CXChildVisit_Continue;
        switch (cursor.Kind)
        {
            case LibClang.CXCursor_FunctionDecl:
                collector.Functions.Add(ReadFunction(cursor));
                break;
            case LibClang.CXCursor_EnumDecl:
                var name = LibClang.Take(LibClang.clang_getCursorSpelling(cursor));
                if (collector.Enums.Any(e => e.Name == name)) break;  // typedef enum x {...} x; seen once
                collector.PendingConstants.Clear();
                LibClang.clang_visitChildren(cursor, &VisitEnum, data);
                var intType = LibClang.Take(LibClang.clang_getTypeSpelling(LibClang.clang_getEnumDeclIntegerType(cursor)));
                collector.Enums.Add(new EnumDecl(name, intType, collector.PendingConstants.ToList(), Comment(cursor)));
                break;
        }
        return LibClang.CXChildVisit_Continue;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int VisitEnum(CXCursor cursor, CXCursor parent, IntPtr data)
    {
        var collector = (Collector)GCHandle.FromIntPtr(data).Target!;
        if (cursor.Kind == LibClang.CXCursor_EnumConstantDecl)
            collector.PendingConstants.Add(new EnumConstant(LibClang.Take(LibClang.clang_getCursorSpelling(cursor)),
                LibClang.clang_getEnumConstantDeclValue(cursor), Comment(cursor)));
        return LibClang.CXChildVisit_Continue;
    }

    private static FunctionDecl ReadFunction(CXCursor cursor)
    {
        var name = LibClang.Take(LibClang.clang_getCursorSpelling(cursor));
        var ret = LibClang.clang_getCursorResultType(cursor);
        var parameters = new List<Parameter>();
        var n = LibClang.clang_Cursor_getNumArguments(cursor);
        for (uint i = 0; i < n; i++)
        {
            var arg = LibClang.clang_Cursor_getArgument(cursor, i);
            var t = LibClang.clang_getCursorType(arg);
            parameters.Add(new Parameter(LibClang.Take(LibClang.clang_getCursorSpelling(arg)),
                LibClang.Take(LibClang.clang_getTypeSpelling(t)),
                LibClang.Take(LibClang.clang_getTypeSpelling(LibClang.clang_getCanonicalType(t)))));
        }
        return new FunctionDecl(name, LibClang.Take(LibClang.clang_getTypeSpelling(ret)),
            LibClang.Take(LibClang.clang_getTypeSpelling(LibClang.clang_getCanonicalType(ret))), parameters, Comment(cursor));
    }
}
