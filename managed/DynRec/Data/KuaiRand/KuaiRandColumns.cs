namespace DynRec.Data.KuaiRand;

/// <summary>Column names and file patterns of the public KuaiRand release (exact spelling).</summary>
public static class KuaiRandColumns
{
    public const string LogPattern = "log_standard_*.csv";
    public const string UserPattern = "user_features_*.csv";
    public const string VideoBasicPattern = "video_features_basic_*.csv";
    public const string VideoStatisticPattern = "video_features_statistic_*.csv";

    public static readonly string[] Log =
    {
        "user_id", "video_id", "date", "hourmin", "time_ms", "is_click", "is_like", "is_follow", "is_comment",
        "is_forward", "is_hate", "long_view", "play_time_ms", "duration_ms", "profile_stay_time",
        "comment_stay_time", "is_profile_enter", "is_rand", "tab",
    };

    /// <summary>
    /// What the user did with an impression. A log file with none of these is an impression log: rows
    /// to score, without labels, which needs only <see cref="Impression"/>.
    /// </summary>
    public static readonly string[] Feedback =
    {
        "is_click", "is_like", "is_follow", "is_comment", "is_forward", "is_hate", "long_view", "play_time_ms",
        "profile_stay_time", "comment_stay_time", "is_profile_enter",
    };

    /// <summary>The columns of an impression log (the ones the features use).</summary>
    public static readonly string[] Impression = { "user_id", "video_id", "date", "hourmin", "time_ms", "is_rand", "tab" };

    public static readonly string[] UserOneHot = Enumerable.Range(0, 18).Select(i => $"onehot_feat{i}").ToArray();

    public static readonly string[] User = new[]
    {
        "user_id", "user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author",
        "follow_user_num", "follow_user_num_range", "fans_user_num", "fans_user_num_range", "friend_user_num",
        "friend_user_num_range", "register_days", "register_days_range",
    }.Concat(UserOneHot).ToArray();

    public static readonly string[] VideoBasic =
    {
        "video_id", "author_id", "video_type", "upload_dt", "upload_type", "visible_status", "video_duration",
        "server_width", "server_height", "music_id", "music_type", "tag",
    };

    /// <summary>The header of KuaiRand's video_features_statistic_*.csv (52 columns, video_id first).</summary>
    public static readonly string[] VideoStatistic =
    {
        "video_id", "counts", "show_cnt", "show_user_num", "play_cnt", "play_user_num", "play_duration",
        "complete_play_cnt", "complete_play_user_num", "valid_play_cnt", "valid_play_user_num",
        "long_time_play_cnt", "long_time_play_user_num", "short_time_play_cnt", "short_time_play_user_num",
        "play_progress", "comment_stay_duration", "like_cnt", "like_user_num", "click_like_cnt",
        "double_click_cnt", "cancel_like_cnt", "cancel_like_user_num", "comment_cnt", "comment_user_num",
        "direct_comment_cnt", "reply_comment_cnt", "delete_comment_cnt", "delete_comment_user_num",
        "comment_like_cnt", "comment_like_user_num", "follow_cnt", "follow_user_num", "cancel_follow_cnt",
        "cancel_follow_user_num", "share_cnt", "share_user_num", "download_cnt", "download_user_num",
        "report_cnt", "report_user_num", "reduce_similar_cnt", "reduce_similar_user_num", "collect_cnt",
        "collect_user_num", "cancel_collect_cnt", "cancel_collect_user_num", "direct_comment_user_num",
        "reply_comment_user_num", "share_all_cnt", "share_all_user_num", "outsite_share_all_cnt",
    };

    /// <summary>
    /// The statistic columns used by default (quantile-bucketed into 10): the
    /// exposure, play, completion and engagement counts. Using all 51 would
    /// add 51 near-collinear fields.
    /// </summary>
    public static readonly string[] DefaultStatistics =
    {
        "show_cnt", "play_cnt", "complete_play_cnt", "valid_play_cnt", "long_time_play_cnt", "play_progress",
        "like_cnt", "comment_cnt", "follow_cnt", "share_cnt",
    };

    /// <summary>User-table columns used as categorical fields (count columns enter via their *_range buckets).</summary>
    public static readonly string[] UserCategoricals = new[]
    {
        "user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author",
        "follow_user_num_range", "fans_user_num_range", "friend_user_num_range", "register_days_range",
    }.Concat(UserOneHot).ToArray();

    /// <summary>Video-table columns used as categorical fields (tag: first tag only).</summary>
    public static readonly string[] VideoCategoricals =
    {
        "video_type", "upload_type", "visible_status", "server_width", "server_height", "music_type", "tag",
    };

    /// <summary>Kept tabs in order; the index is the scenario id (FunRec keeps tabs 0, 1, 2, 4, 6).</summary>
    public static readonly int[] KeptTabs = { 0, 1, 2, 4, 6 };

    public static readonly string[] Tasks = { "is_click", "long_view", "is_like" };
}
