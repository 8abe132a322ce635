using System.Globalization;
using DynRec.Checkpoints;
using static TorchSharp.torch;

namespace DynRec.Training.Checkpointing;

/// <summary>
/// A run's checkpoints folder. Each checkpoint is a directory epoch-NNNN (after
/// epoch N) or epoch-NNNN-step-SSSSSSSSS (inside epoch N, at run step S)
/// holding model.safetensors (weights, PyTorch names), training_state.safetensors
/// (optimizer moments and step counts), checkpoint.json (sidecar) and a
/// COMPLETE marker written last. It is assembled in a hidden temp directory
/// and renamed into place, and the `last` / `best` pointer files (holding a
/// directory name) are replaced atomically afterwards, so a crash at any
/// moment leaves the previous checkpoint valid and pointed to.
/// </summary>
public sealed class CheckpointStore
{
    public const string ModelFile = "model.safetensors";
    public const string StateFile = "training_state.safetensors";
    public const string InfoFile = "checkpoint.json";
    public const string CompleteMarker = "COMPLETE";
    public const string LastPointer = "last";
    public const string BestPointer = "best";

    public CheckpointStore(string directory) => Directory = Path.GetFullPath(directory);

    public string Directory { get; }

    /// <summary>
    /// Text files every checkpoint of this run also carries (name -> content), e.g. the data's
    /// feature encoding (encoding.json) that eval and predict need to encode other data alike.
    /// </summary>
    public IReadOnlyDictionary<string, string> AttachedFiles { get; init; } = new Dictionary<string, string>();

    /// <summary>Called after each file of a checkpoint is written (crash tests throw from here).</summary>
    public Action<string>? AfterFileWritten { get; init; }

    /// <summary>Writes a checkpoint, points `last` at it (and `best` when <paramref name="isBest"/>), prunes the rest.</summary>
    public string Save(Checkpoint checkpoint, bool isBest)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var name = NameOf(checkpoint.Info);
        var final = Path.Combine(Directory, name);
        var tmp = Path.Combine(Directory, $".tmp-{name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(tmp);
        try
        {
            var metadata = new Dictionary<string, string> { ["format"] = "pt", ["model"] = checkpoint.Info.Model };
            WriteFile(tmp, ModelFile, s => SafeTensors.Write(s, checkpoint.Weights, metadata));
            WriteFile(tmp, StateFile, s => SafeTensors.Write(s, checkpoint.TrainingState));
            WriteFile(tmp, InfoFile, s => s.Write(System.Text.Encoding.UTF8.GetBytes(checkpoint.Info.ToJson())));
            foreach (var (file, text) in AttachedFiles.OrderBy(f => f.Key, StringComparer.Ordinal))
                WriteFile(tmp, file, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));
            WriteFile(tmp, CompleteMarker, s => s.Write("ok\n"u8));
            if (System.IO.Directory.Exists(final))
            {
                // Only reachable when a resumed run redoes an epoch whose pointer update was lost; the pointers never name it.
                var stale = Path.Combine(Directory, $".stale-{name}-{Guid.NewGuid():N}");
                System.IO.Directory.Move(final, stale);
                System.IO.Directory.Delete(stale, recursive: true);
            }
            System.IO.Directory.Move(tmp, final);
        }
        catch
        {
            TryDeleteDirectory(tmp);
            throw;
        }
        AtomicFile.WriteAllText(Path.Combine(Directory, LastPointer), name + "\n");
        if (isBest) AtomicFile.WriteAllText(Path.Combine(Directory, BestPointer), name + "\n");
        Prune();
        return final;
    }

    /// <summary>The directory name of a checkpoint: its epoch, and for a mid-epoch one also its run step.</summary>
    public static string NameOf(CheckpointInfo info) => info.InProgress is { } p
        ? string.Create(CultureInfo.InvariantCulture, $"epoch-{p.Epoch:D4}-step-{info.Step:D9}")
        : string.Create(CultureInfo.InvariantCulture, $"epoch-{info.Epoch:D4}");

    private void WriteFile(string dir, string file, Action<Stream> write)
    {
        var path = Path.Combine(dir, file);
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            write(stream);
            stream.Flush(flushToDisk: true);
        }
        AfterFileWritten?.Invoke(path);
    }

    /// <summary>Deletes checkpoints that neither pointer names, and leftovers of interrupted writes.</summary>
    private void Prune()
    {
        var keep = new[] { LastPointer, BestPointer }.Select(ReadPointer).Where(n => n != null).ToHashSet();
        foreach (var dir in System.IO.Directory.GetDirectories(Directory))
        {
            var name = Path.GetFileName(dir);
            if (keep.Contains(name)) continue;
            if (name.StartsWith("epoch-", StringComparison.Ordinal) || name.StartsWith(".tmp-", StringComparison.Ordinal) || name.StartsWith(".stale-", StringComparison.Ordinal))
                TryDeleteDirectory(dir);
        }
    }

    private string? ReadPointer(string pointer)
    {
        var path = Path.Combine(Directory, pointer);
        if (!File.Exists(path)) return null;
        var name = File.ReadAllText(path).Trim();
        return name.Length == 0 || name.Contains('/') || name.Contains("..") ? null : name;
    }

    /// <summary>
    /// The checkpoint to resume from: `last` if it is complete, else the complete checkpoint directory with the
    /// most run steps (read from its sidecar; names alone do not order a mid-epoch one before its epoch's end), else null.
    /// </summary>
    public string? FindLast()
    {
        if (!System.IO.Directory.Exists(Directory)) return null;
        if (ReadPointer(LastPointer) is { } name && IsComplete(Path.Combine(Directory, name))) return Path.Combine(Directory, name);
        return System.IO.Directory.GetDirectories(Directory, "epoch-*").Where(IsComplete)
            .Select(d => (Dir: d, Step: TryReadStep(d)))
            .Where(c => c.Step != null)
            .OrderBy(c => c.Step).ThenBy(c => c.Dir, StringComparer.Ordinal)
            .Select(c => c.Dir).LastOrDefault();
    }

    private static long? TryReadStep(string dir)
    {
        try
        {
            var path = Path.Combine(dir, InfoFile);
            return CheckpointInfo.FromJson(File.ReadAllText(path), path).Step;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static bool IsComplete(string dir) => File.Exists(Path.Combine(dir, CompleteMarker)) && File.Exists(Path.Combine(dir, InfoFile));

    /// <summary>
    /// Resolves what a user passed as --checkpoint: a checkpoint directory, a `best`/`last` pointer file,
    /// a checkpoints folder or a run's output folder (both resolve to `best`, else `last`).
    /// </summary>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && Path.GetFileName(full) is LastPointer or BestPointer)
            return Checked(Path.Combine(Path.GetDirectoryName(full)!, File.ReadAllText(full).Trim()), path);
        if (!System.IO.Directory.Exists(full)) throw new DirectoryNotFoundException($"checkpoint not found: {path}");
        if (File.Exists(Path.Combine(full, InfoFile))) return Checked(full, path);
        foreach (var folder in new[] { full, Path.Combine(full, "checkpoints") })
            foreach (var pointer in new[] { BestPointer, LastPointer })
                if (File.Exists(Path.Combine(folder, pointer)))
                    return Checked(Path.Combine(folder, File.ReadAllText(Path.Combine(folder, pointer)).Trim()), path);
        throw new DirectoryNotFoundException($"no checkpoint in {path}: expected a folder with {InfoFile}, or a run folder with checkpoints/best");
    }

    private static string Checked(string dir, string given) => IsComplete(dir)
        ? dir
        : throw new InvalidDataException($"checkpoint {given} ({dir}) is incomplete or missing (no {CompleteMarker} marker); it was interrupted while being written");

    /// <summary>Reads a complete checkpoint directory (tensors on the CPU; the caller disposes the checkpoint).</summary>
    public static Checkpoint Load(string dir)
    {
        if (!IsComplete(dir)) throw new InvalidDataException($"checkpoint {dir} is incomplete (no {CompleteMarker} marker)");
        var info = CheckpointInfo.FromJson(File.ReadAllText(Path.Combine(dir, InfoFile)), Path.Combine(dir, InfoFile));
        var weights = SafeTensors.Load(Path.Combine(dir, ModelFile)).Tensors;
        var state = SafeTensors.Load(Path.Combine(dir, StateFile)).Tensors;
        return new Checkpoint(info, weights, state);
    }

    private static void TryDeleteDirectory(string dir)
    {
        try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A checkpoint in memory: sidecar, weights by PyTorch name, optimizer + RNG state tensors.</summary>
public sealed class Checkpoint(CheckpointInfo info, Dictionary<string, Tensor> weights, Dictionary<string, Tensor> trainingState) : IDisposable
{
    public CheckpointInfo Info { get; } = info;
    public Dictionary<string, Tensor> Weights { get; } = weights;
    public Dictionary<string, Tensor> TrainingState { get; } = trainingState;

    public void Dispose()
    {
        foreach (var t in Weights.Values) t.Dispose();
        foreach (var t in TrainingState.Values) t.Dispose();
    }
}
