using DynRec.Interop.Generator;

// dynrec-bindgen: regenerates interop/DynRec.Interop/Generated from dynrec.h.
//   dynrec-bindgen [--repo DIR] [--check] [--resource-dir DIR]
// --check writes nothing and exits 1 when the committed files differ from
// what the header produces (CI's drift check).
var repo = Directory.GetCurrentDirectory();
var check = false;
string? resourceDir = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--repo": repo = args[++i]; break;
        case "--check": check = true; break;
        case "--resource-dir": resourceDir = args[++i]; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'\nusage: dynrec-bindgen [--repo DIR] [--check] [--resource-dir DIR]");
            return 2;
    }
}

var includeDir = Path.Combine(repo, "native", "include");
var header = Path.Combine(includeDir, "dynrec", "dynrec.h");
var outDir = Path.Combine(repo, "interop", "DynRec.Interop", "Generated");
if (!File.Exists(header))
{
    Console.Error.WriteLine($"header not found: {header} (run from the repository root or pass --repo)");
    return 2;
}

try
{
    var model = HeaderParser.Parse(header, includeDir, resourceDir);
    var files = new CSharpEmitter(model, "DynRec.Interop", "native/include/dynrec/dynrec.h").Emit();
    var drift = new List<string>();
    foreach (var (name, text) in files)
    {
        var path = Path.Combine(outDir, name);
        var current = File.Exists(path) ? File.ReadAllText(path) : null;
        if (current == text) continue;
        drift.Add(name);
        if (!check)
        {
            Directory.CreateDirectory(outDir);
            var tmp = path + ".tmp";
            File.WriteAllText(tmp, text);
            File.Move(tmp, path, overwrite: true);
        }
    }
    var stale = Directory.Exists(outDir)
        ? Directory.GetFiles(outDir, "*.g.cs").Select(Path.GetFileName).Where(n => !files.ContainsKey(n!)).ToList()
        : new List<string?>();
    foreach (var s in stale)
    {
        drift.Add(s!);
        if (!check) File.Delete(Path.Combine(outDir, s!));
    }

    if (check)
    {
        if (drift.Count == 0)
        {
            Console.WriteLine($"bindings up to date ({model.Functions.Count} functions, {model.Enums.Count} enums)");
            return 0;
        }
        Console.Error.WriteLine($"bindings drift from dynrec.h in: {string.Join(", ", drift)}\n" +
                                "regenerate with: dotnet run --project interop/Generator -- --repo .");
        return 1;
    }
    Console.WriteLine(drift.Count == 0
        ? $"bindings unchanged ({model.Functions.Count} functions, {model.Enums.Count} enums)"
        : $"wrote {string.Join(", ", drift)} ({model.Functions.Count} functions, {model.Enums.Count} enums)");
    return 0;
}
catch (Exception e) when (e is InvalidOperationException or NotSupportedException or DllNotFoundException)
{
    Console.Error.WriteLine($"dynrec-bindgen: {e.Message}");
    return 1;
}
