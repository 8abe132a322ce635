namespace DynRec.Data.KuaiRand;

/// <summary>
/// Label encoding of KuaiRand's integer ids (user_id, video_id, author_id; a table's ids: TableIdColumn):
/// ids 1..n for the values seen on training rows, in ascending order of the raw id, 0 for the rest;
/// or the ids of a vocabulary learned on other data (a checkpoint's encoding), where the raw ids are
/// stored as decimal text.
/// </summary>
internal static class IdVocabulary
{
    /// <summary>Ids of every interned raw id: learned from <paramref name="inTrain"/>, or from <paramref name="fitted"/>'s vocabulary of <paramref name="field"/>.</summary>
    public static int[] Encode(IdInterner interner, bool[] inTrain, FeatureEncoding? fitted, string field, out int vocabularySize) =>
        fitted == null
            ? LabelEncode(interner.Count, interner.Raw, inTrain, out vocabularySize)
            : FittedIds(interner, fitted, field, out vocabularySize);

    /// <summary>Ids of interned raw ids under a fitted vocabulary (decimal text of the raw id); unknown -> 0.</summary>
    public static int[] FittedIds(IdInterner interner, FeatureEncoding fitted, string field, out int vocabularySize)
    {
        var idOfRaw = fitted.IntegerIdsOf(field);
        var ids = new int[interner.Count];
        for (var d = 0; d < ids.Length; d++) ids[d] = idOfRaw.GetValueOrDefault(interner.Raw(d));
        vocabularySize = fitted.CategoriesOf(field).Length + 1;
        return ids;
    }

    /// <summary>The raw ids in id order (decimal text): the vocabulary LabelEncode built.</summary>
    public static string[] VocabularyOf(int[] ids, IdInterner interner)
    {
        var vocabulary = new string[ids.Max(x => (int?)x) ?? 0];
        for (var d = 0; d < ids.Length; d++)
            if (ids[d] > 0) vocabulary[ids[d] - 1] = interner.Raw(d).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return vocabulary;
    }

    /// <summary>Ids 1..n for the entities marked in <paramref name="inTrain"/>, in order of raw id; others 0.</summary>
    public static int[] LabelEncode(int count, Func<int, long> rawOf, bool[] inTrain, out int vocabularySize)
    {
        var vocab = Enumerable.Range(0, count).Where(i => inTrain[i]).OrderBy(rawOf).ToArray();
        var ids = new int[count];
        for (var i = 0; i < vocab.Length; i++) ids[vocab[i]] = i + 1;
        vocabularySize = vocab.Length + 1;
        return ids;
    }
}
