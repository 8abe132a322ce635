namespace DynRec.Config;

/// <summary>
/// A bad configuration key or value. The message is one line naming the key
/// (section.key), what was given, and the valid keys/choices or expected type.
/// Derives from ArgumentException so the CLI reports it as a user error.
/// </summary>
public sealed class ConfigException : ArgumentException
{
    public ConfigException(string message) : base(message) { }
}
