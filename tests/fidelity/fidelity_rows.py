"""The rows of docs/fidelity.md: how closely the emulator and the provider follow Marketo, and the proof.

Each row is data: a behaviour, where it is known from (a page of Marketo's docs, or another Marketo
client's code or tracker), what the emulator does, what the provider does today (``PENDING`` while the
provider side is still to be built) and the tests that show it. ``test_fidelity_table.py`` checks that
every named test exists and that docs/fidelity.md is this list, rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

PENDING = "pending"

DOCS = "https://github.com/AdobeDocs/marketo-developer.en/blob/main/help/rest-api/"
EXTRACT = f"[Bulk Program Member Extract]({DOCS}bulk-program-member-extract.md)"
BULK = f"[Bulk Extract]({DOCS}bulk-extract.md)"
ERRORS = f"[Error Codes]({DOCS}error-codes.md)"
LEADS = f"[Leads]({DOCS}leads.md)"
PROGRAMS_PAGE = f"[Programs]({DOCS}programs.md)"
EMAILS = f"[Emails]({DOCS}emails.md)"
LEAD_EXTRACT = f"[Bulk Lead Extract]({DOCS}bulk-lead-extract.md)"
ACTIVITY_EXTRACT = f"[Bulk Activity Extract]({DOCS}bulk-activity-extract.md)"
OBJECT_EXTRACT = f"[Bulk Custom Object Extract]({DOCS}bulk-custom-object-extract.md)"
SPEC = "Swagger of AdobeDocs/marketo-apis and of the docs repository"
TAP = "https://github.com/singer-io/tap-marketo/blob/master/tap_marketo/"
AIRBYTE = "https://github.com/airbytehq/airbyte/"

EMULATOR_TESTS = "tests/testing/"
HOOK_TESTS = "tests/hooks/test_marketo.py::"
DOWNLOAD_TESTS = "tests/operators/test_download_operator.py::"
PARQUET_TESTS = "tests/operators/test_parquet_operator.py::"


@dataclass(frozen=True)
class FidelityRow:
    behaviour: str
    source: str
    emulator: str
    provider: str  # today's behaviour, or PENDING
    tests: tuple[str, ...]  # pytest node ids: path::function or path::Class::method
    production: bool = False  # an oddity met in production rather than a documented behaviour


def emulator_test(name: str) -> str:
    return EMULATOR_TESTS + name


ROWS: tuple[FidelityRow, ...] = (
    FidelityRow(
        "The documented example file: program 1044, 12 fields, `fileChecksum` sha256:b3c8e70e...7212",
        EXTRACT,
        '`dataset="documented"` returns that file byte for byte (1740 bytes), checksum included',
        "The hook's public methods download exactly those bytes; sha256 matches the advertised checksum. "
        "Its Parquet file has the exact types the describes give (`Lead Id` an int64 `leadId`, `Member Date` "
        "a UTC timestamp, `Success` a bool)",
        (
            PARQUET_TESTS + "TestTheDocumentedExample::test_converts_to_the_exact_types_its_describe_gives",
            emulator_test(
                "test_emulator_documented.py::test_the_documented_request_returns_the_documented_file_byte_for_byte"
            ),
            emulator_test("test_emulator_documented.py::test_with_a_standard_library_client_only"),
            emulator_test(
                "test_documented_example_through_the_hook.py::"
                "test_the_hook_downloads_the_documented_file_with_the_documented_checksum"
            ),
        ),
    ),
    FidelityRow(
        "No line ending after the last row (the checksum proves it)",
        EXTRACT,
        "Every export ends without one; `final_newline=True` adds one",
        "Copies the bytes as served; never splits, joins or rewrites lines. A file of a header and no row "
        "types to no rows",
        (
            PARQUET_TESTS + "test_a_header_without_rows_converts_to_an_empty_typed_file",
            emulator_test("test_emulator_documented.py::test_every_export_ends_without_a_newline_by_default"),
            emulator_test("test_emulator_documented.py::test_final_newline_is_an_option"),
            "tests/operators/test_download_operator.py::test_writes_the_exact_bytes_and_reports_them",
        ),
    ),
    FidelityRow(
        "The page is not self-consistent: `fileSize` 1752 fits CRLF line ends, `numberOfRecords` 13 counts "
        "the header",
        EXTRACT,
        '`line_ending="\\r\\n"` gives the 1752 bytes; `numberOfRecords` counts data rows (12)',
        "Verifies each file against its own record's `fileSize` and `fileChecksum`. The Parquet conversion "
        "checks its rows against `numberOfRecords`, also when the count includes the header line",
        (
            PARQUET_TESTS + "test_a_record_count_that_counts_the_header_line_is_accepted",
            emulator_test("test_emulator_documented.py::test_crlf_line_endings_give_the_pages_file_size"),
            "tests/operators/test_download_operator.py::"
            "test_checksum_mismatch_fails_with_both_checksums_and_leaves_nothing",
        ),
    ),
    FidelityRow(
        "Empty values are written as the literal `null`; values carry commas, quotes and newlines",
        EXTRACT,
        "Writes `null` for empties and quotes values the CSV way",
        "The download copies the bytes unchanged (CSV loaders need `NULL_IF 'null'`); the typed outputs "
        "(Parquet, `read_export_rows`, the PostgreSQL load) read the unquoted `null` as null, a quoted "
        '`"null"` as text, and keep quoted commas, quotes and newlines',
        (
            PARQUET_TESTS + "TestTheDocumentedExample::test_every_value_is_the_files_value_typed",
            PARQUET_TESTS + "TestAwkwardFiles::test_a_file_with_a_bom_nul_bytes_and_crlf_keeps_every_value",
            emulator_test(
                "test_emulator_data.py::test_values_are_nasty_but_quoted_correctly_and_empties_are_null"
            ),
            "tests/operators/test_download_operator.py::test_writes_the_exact_bytes_and_reports_them",
        ),
    ),
    FidelityRow(
        "`nurtureCadence`: the copies disagree (`pause`/`norm`, `paused`/`normal`, `paus`/`norm`)",
        f"{EXTRACT}; {SPEC}",
        "Accepts exactly those five spellings; anything else (`PAUSEXYZ`, `PAUSE`) is 1003",
        "Sends the value as given (any non-empty string: the copies disagree); Marketo's 1003 is raised as a "
        "MarketoApiError, not retried",
        (
            emulator_test(
                "test_emulator_strictness.py::TestNurtureCadence::test_each_documented_spelling_is_accepted"
            ),
            emulator_test("test_emulator_strictness.py::TestNurtureCadence::test_anything_else_is_1003"),
            HOOK_TESTS + "test_nurture_cadence_is_sent_as_given",
            HOOK_TESTS + "test_an_undocumented_nurture_cadence_fails_with_marketos_1003",
        ),
    ),
    FidelityRow(
        "`updatedAt` datetimes in ISO-8601 without milliseconds, at most 31 days",
        EXTRACT,
        "Refuses a fraction of a second with 1003, as Marketo does",
        "Sends UTC datetimes without fraction",
        (
            emulator_test(
                "test_emulator_strictness.py::TestUpdatedAt::test_milliseconds_are_refused_as_the_docs_say"
            ),
            "tests/test_validation.py::test_aware_datetimes_are_sent_in_utc_without_fraction",
        ),
    ),
    FidelityRow(
        "Unknown names in `fields` are refused: 1003 `Invalid fields: x`",
        EXTRACT,
        "Answers 1003 naming every unknown field",
        "Raises MarketoApiError with Marketo's code and message, which names every unknown field",
        (
            emulator_test(
                "test_emulator_strictness.py::TestFields::test_unknown_fields_are_named_in_marketos_error"
            ),
            HOOK_TESTS + "test_fatal_errors_fail_at_once_with_what_to_fix",
        ),
    ),
    FidelityRow(
        "Lead fields (`id`, `company`, `title`, `createdAt`, ..., custom fields) can be exported; "
        "`GET /rest/v1/leads/describe.json` and `describe2.json` list them",
        f"{EXTRACT}; {LEADS}",
        "Accepts and fills realistic lead fields and `lead_custom_fields` of your own; serves both describes",
        "Passes field names through unchanged (checked only as non-empty names); it does not call the lead "
        "describes",
        (
            HOOK_TESTS + "test_create_sends_the_validated_body",
            emulator_test(
                "test_emulator_strictness.py::TestFields::test_a_realistic_field_list_is_accepted_and_served"
            ),
            emulator_test(
                "test_emulator_strictness.py::TestFields::"
                "test_lead_custom_fields_of_your_own_are_accepted_listed_and_filled"
            ),
            emulator_test(
                "test_emulator_strictness.py::TestFields::"
                "test_describe_leads_lists_every_exportable_lead_field_with_rest_names"
            ),
            emulator_test(
                "test_emulator_strictness.py::TestFields::test_describe2_answers_the_api_lead_record"
            ),
        ),
    ),
    FidelityRow(
        "100 calls per 20 s (606) and 10 concurrent calls (615) per instance",
        ERRORS,
        "Enforces both on the emulated clock",
        "Retries 606 and 615 with backoff, a bounded number of times",
        (
            emulator_test(
                "test_emulator_faults.py::test_more_calls_than_the_rate_limit_get_606_until_the_window_passes"
            ),
            emulator_test("test_emulator_faults.py::test_more_concurrent_calls_than_allowed_get_615"),
            HOOK_TESTS + "test_transient_errors_are_retried_until_success",
        ),
    ),
    FidelityRow(
        "A call refused with 606 or 615 is not counted against the rate window (the page's note marks "
        "601, 602, 604, 605, 608 and 611 as not counted; 606/615 are reported by other clients)",
        f"{ERRORS}; Marketo FACTS collected from other clients",
        "Refused calls neither enter the 20 s window nor hold a concurrency slot",
        "Backs off and retries, so the retry gets through once the window has room",
        (
            HOOK_TESTS + "test_transient_errors_are_retried_until_success",
            emulator_test(
                "test_emulator_strictness.py::TestRateWindow::test_refused_calls_do_not_count_against_the_rate_window"
            ),
            emulator_test(
                "test_emulator_strictness.py::TestRateWindow::test_a_615_refusal_holds_no_concurrency_slot"
            ),
        ),
    ),
    FidelityRow(
        "At most 2 jobs Processing and 10 Queued, in one queue shared with other integrations",
        BULK,
        "Enforces both; `occupy_queue()` adds other integrations' jobs",
        "A full queue is MarketoQueueFullError, not retried inside the hook",
        (
            emulator_test("test_emulator_jobs.py::test_at_most_two_jobs_process_at_once"),
            emulator_test(
                "test_emulator_jobs.py::test_the_shared_queue_holds_ten_jobs_including_other_integrations"
            ),
            HOOK_TESTS + "test_full_queue_is_its_own_error_and_not_retried",
        ),
    ),
    FidelityRow(
        "Daily export quota (500 MB), reset at 12:00 AM US Central",
        BULK,
        "Refuses create and enqueue with 1029 `Export daily quota ... exceeded.`; days end at 00:00 "
        "America/Chicago on the emulated clock (DST-aware); `quota_day_seconds` compresses days for tests",
        "MarketoExportQuotaError naming the reset time; the start operator defers until just after the "
        "reset and tries again on the same job (`on_quota_exceeded`, `quota_waits`)",
        (
            "tests/operators/test_start_export_operator.py::test_daily_quota_fails_at_once_with_the_reset_time_when_asked_to",
            emulator_test(
                "test_emulator_jobs.py::TestQuotaDay::test_the_reset_is_midnight_in_chicago_across_a_dst_change"
            ),
            emulator_test(
                "test_emulator_jobs.py::TestQuotaDay::test_quota_day_seconds_compresses_a_day_for_tests"
            ),
            HOOK_TESTS + "test_export_quota_fails_with_reset_time",
            "tests/operators/test_quota_wait.py::test_after_the_reset_the_same_job_is_enqueued_no_second_export",
        ),
    ),
    FidelityRow(
        "Enqueueing a job already queued answers 1029 `Job already queued`",
        ERRORS,
        "Answers it for Queued, Processing and Completed jobs",
        "Treats it as success and reads the job's status",
        (
            emulator_test("test_emulator_jobs.py::test_a_second_enqueue_answers_job_already_queued"),
            HOOK_TESTS + "test_enqueue_of_an_already_queued_job_succeeds",
        ),
    ),
    FidelityRow(
        "The `updatedAt` filter is not enabled for every subscription (1035)",
        EXTRACT,
        "`updated_at_filter=False` answers 1035",
        "Fails saying the filter is not enabled",
        (
            emulator_test(
                "test_emulator_data.py::test_a_subscription_without_the_updated_at_filter_answers_1035"
            ),
            HOOK_TESTS + "test_updated_at_filter_not_enabled",
        ),
    ),
    FidelityRow(
        "Status is refreshed at most once every 60 s",
        EXTRACT,
        "`status_refresh_seconds=60` (the CLI's `--realistic`) changes status only on refresh ticks",
        "Refuses a poll faster than every 60 s against a real instance: the waiting start before create, the "
        "sensor before its first status call (an emulator may be polled faster)",
        (
            emulator_test(
                "test_emulator_jobs.py::test_with_realistic_refresh_the_status_only_changes_on_refresh_ticks"
            ),
            "tests/sensors/test_export_sensor.py::"
            "test_polling_a_real_instance_faster_than_its_status_refresh_is_refused_before_any_call",
            "tests/operators/test_start_checks_before_create.py::"
            "test_a_wait_polling_a_real_instance_faster_than_its_status_refresh_fails_before_any_call",
        ),
    ),
    FidelityRow(
        "file.json honours `Range: bytes=a-b` (206, `Content-Range`; 416 when unsatisfiable)",
        BULK,
        "Serves 200, 206 and 416 from the file on disk",
        "Resumes a cut download from the byte it reached",
        (
            emulator_test("test_emulator_file.py::test_a_byte_range_with_206_and_content_range"),
            HOOK_TESTS + "test_file_resumes_from_an_offset_with_range",
        ),
    ),
    FidelityRow(
        "Files are kept 7 days; job status stays readable 30 days",
        BULK,
        "file.json answers 404 after 7 days, status 1003 after 30 (emulated clock)",
        "MarketoFileNotAvailableError for an expired file",
        (
            emulator_test(
                "test_emulator_jobs.py::test_files_expire_after_seven_days_and_status_after_thirty"
            ),
            HOOK_TESTS + "test_file_expired_after_seven_days",
        ),
    ),
    FidelityRow(
        "`Cancelled` and `Canceled`: the docs spell it both ways, in status answers and the list filter",
        EXTRACT,
        '`cancelled_spelling="Canceled"` answers the other spelling; the list filter takes both',
        "Both spellings are a final, failed state; the hook's list filter takes either spelling (any case) "
        "and sends `Cancelled`",
        (
            HOOK_TESTS + "test_list_takes_either_spelling_of_cancelled_and_sends_cancelled",
            emulator_test(
                "test_emulator_production_faults.py::test_cancelled_is_answered_in_either_spelling_and_both_filter"
            ),
            "tests/triggers/test_export_trigger.py::test_each_status_maps_to_one_verdict",
        ),
    ),
    FidelityRow(
        "Programs: `GET /rest/asset/v1/programs.json`, `maxReturn` (default 20, max 200) and `offset`, "
        "`filterType` `id`/`programId`/`folderId`/`workspace` with `filterValues`",
        f"{PROGRAMS_PAGE}; Swagger of the Asset API",
        "Serves the dataset's programs (with folders and workspaces) in the Asset API's envelope",
        "`MarketoHook.list_programs` pages by `offset` with `maxReturn` 200 and sends the filter "
        'comma-separated; `program_ids="all"` or a filter uses it',
        (
            emulator_test(
                "test_emulator_programs.py::test_offset_paging_with_max_return_lists_every_program_once"
            ),
            emulator_test("test_emulator_programs.py::test_filter_by_workspace_and_by_folder"),
            emulator_test("test_emulator_programs.py::test_max_return_is_at_most_200"),
            "tests/hooks/test_list_programs.py::test_lists_every_program_in_pages_of_at_most_200",
            "tests/hooks/test_list_programs.py::test_filters_by_workspace",
        ),
    ),
    FidelityRow(
        "Past the last asset the Asset API answers success with the warning `No assets found for the given "
        "search criteria.` and no `result`",
        f"{EMAILS}; [marketo-rest-python #5](https://github.com/jepcastelein/marketo-rest-python/pull/5)",
        "Answers exactly that after the last program",
        "`MarketoHook.list_programs` ends the list there (a page without `result`)",
        (
            emulator_test(
                "test_emulator_programs.py::test_offset_paging_with_max_return_lists_every_program_once"
            ),
            "tests/hooks/test_list_programs.py::test_stops_on_marketos_no_assets_found_answer",
        ),
    ),
    FidelityRow(
        "An HTTP 200 with an empty body",
        f"[Airbyte source-marketo]({AIRBYTE}tree/master/airbyte-integrations/connectors/source-marketo)",
        "`Fault(empty_body=True)` on any endpoint",
        "Transient: retried within the connection's retry policy (sync and async), then a "
        "MarketoTransientError naming the call and the empty answer",
        (
            emulator_test("test_emulator_production_faults.py::test_an_http_200_with_an_empty_body"),
            "tests/hooks/test_error_classification.py::test_an_error_envelope_or_status_or_non_json_answer_raises",
            HOOK_TESTS + "test_an_empty_answer_is_transient_and_retried",
            HOOK_TESTS + "test_retries_of_a_missing_answer_end_in_an_error_naming_the_call",
            HOOK_TESTS + "test_async_status_retries_an_answer_without_result",
        ),
        production=True,
    ),
    FidelityRow(
        "A create answer without `result`",
        f"[Airbyte #13930]({AIRBYTE}pull/13930), [#9322]({AIRBYTE}issues/9322)",
        "`Fault(no_result=True)`: a success envelope without `result`; no job is created",
        "Transient for create, enqueue, status and cancel: retried within the retry policy, then a "
        "MarketoTransientError naming the call and the missing `result`. Retrying create leaves one job to "
        "enqueue: an answer without `result` carries no exportId",
        (
            emulator_test(
                "test_emulator_production_faults.py::test_a_create_answer_without_result_creates_nothing"
            ),
            "tests/hooks/test_error_classification.py::test_an_answer_without_a_record_raises",
            HOOK_TESTS + "test_a_create_without_result_is_retried_and_leaves_exactly_one_job",
            HOOK_TESTS + "test_an_answer_without_result_is_transient_and_retried",
            HOOK_TESTS + "test_retries_of_a_missing_answer_end_in_an_error_naming_the_call",
        ),
        production=True,
    ),
    FidelityRow(
        "A job reads `Created` again after it was enqueued (other clients enqueue it again)",
        f"[tap-marketo `wait_for_export`]({TAP}client.py)",
        "`created_after_enqueue(polls=N)`: N status reads answer Created while the job runs (re-enqueue "
        "answers `Job already queued`); `lost=True`: the job stays Created until enqueued again",
        "After `reenqueue_after_polls` Created reads in a row (default 3) the sensor and the waiting start "
        "enqueue it again on the worker (the trigger yields a `created` event; 1029 `Job already queued` is "
        "success), at most 3 times, then MarketoExportNotEnqueuedError",
        (
            "tests/operators/test_start_export_operator.py::TestCreatedAfterEnqueue::"
            "test_a_lost_enqueue_is_enqueued_again_from_the_worker_and_the_wait_goes_on",
            "tests/operators/test_start_export_operator.py::TestCreatedAfterEnqueue::"
            "test_a_job_in_fact_queued_answers_job_already_queued_which_is_success",
            "tests/operators/test_start_export_operator.py::TestCreatedAfterEnqueue::"
            "test_re_enqueues_are_bounded_then_the_start_fails_saying_why",
            "tests/operators/test_start_export_operator.py::TestCreatedAfterEnqueue::"
            "test_not_deferrable_enqueues_again_on_the_worker",
            "tests/sensors/test_export_sensor.py::TestCreatedAfterEnqueue::"
            "test_deferred_the_trigger_hands_back_and_the_worker_enqueues_again",
            "tests/sensors/test_export_sensor.py::TestCreatedAfterEnqueue::test_poke_mode_enqueues_again_on_the_worker",
            "tests/triggers/test_export_trigger.py::"
            "test_a_job_still_created_after_n_polls_yields_a_created_event_and_enqueues_nothing",
            HOOK_TESTS + "test_wait_for_export_enqueues_a_still_created_job_again_a_bounded_number_of_times",
            emulator_test(
                "test_emulator_production_faults.py::TestCreatedAfterEnqueue::"
                "test_the_job_reads_created_for_n_polls_while_it_is_in_fact_queued"
            ),
            emulator_test(
                "test_emulator_production_faults.py::TestCreatedAfterEnqueue::"
                "test_a_lost_enqueue_leaves_the_job_created_until_it_is_enqueued_again"
            ),
        ),
        production=True,
    ),
    FidelityRow(
        "`Completed`, but file.json answers 404 for a while",
        f"[tap-marketo `export_available`]({TAP}client.py)",
        "`delay_next_file(seconds)`: 404 until that long after completion (emulated clock)",
        "The download asks again with the retry policy's waits for `file_available_timeout` (default 5 min), "
        "then MarketoFileNotAvailableError saying how many calls over how long (an expired file too)",
        (
            emulator_test(
                "test_emulator_production_faults.py::test_a_completed_file_answers_404_for_a_while"
            ),
            HOOK_TESTS + "test_file_of_an_unfinished_or_unknown_job_is_not_available",
            DOWNLOAD_TESTS + "test_a_file_answering_404_for_a_while_is_asked_for_again_until_it_appears",
            DOWNLOAD_TESTS + "test_a_file_still_404_after_file_available_timeout_fails_with_the_cause",
        ),
        production=True,
    ),
    FidelityRow(
        "A `Completed` record without `fileChecksum` and/or `fileSize`",
        "Marketo FACTS collected from other clients; the spec marks neither as required",
        "`omit_from_next_completion(*keys)` leaves them out of status and list answers",
        "The download names what is missing. No `fileSize`: verifies the checksum. No `fileChecksum`: "
        "refused before any download (MarketoExportUnverifiableError) unless `verify_checksum=False`, which "
        "verifies the size and publishes with a warning",
        (
            emulator_test(
                "test_emulator_production_faults.py::test_a_completed_record_without_file_checksum_or_size"
            ),
            DOWNLOAD_TESTS + "test_a_record_without_a_checksum_is_refused_by_default_naming_what_is_missing",
            DOWNLOAD_TESTS
            + "test_verify_checksum_false_publishes_a_file_verified_by_its_size_with_a_warning",
            DOWNLOAD_TESTS + "test_without_a_checksum_the_size_is_still_verified",
            DOWNLOAD_TESTS + "test_a_record_without_file_size_is_verified_by_its_checksum",
        ),
        production=True,
    ),
    FidelityRow(
        "NUL bytes inside exported values, and a UTF-8 BOM",
        f"[tap-marketo strips `\\0`]({TAP}sync.py)",
        "`nul_bytes=True` and `utf8_bom=True`; size and checksum are of the bytes served",
        "Copied byte for byte and verified, never altered (gzipped too);"
        " [the Load page](loading.md#the-csv-files-as-marketo-writes-them) tells loaders how to handle them."
        " The typed Parquet file drops the BOM and keeps NUL bytes (and CRLF row ends work); the PostgreSQL"
        " load removes NUL from text values (PostgreSQL text cannot hold it) and counts them",
        (
            PARQUET_TESTS + "TestAwkwardFiles::test_a_file_with_a_bom_nul_bytes_and_crlf_keeps_every_value",
            "tests/operators/test_postgres_operator.py::TestNulBytes::test_nul_bytes_are_removed_from_text_and_counted",
            emulator_test(
                "test_emulator_production_faults.py::"
                "test_files_with_a_utf8_bom_and_nul_bytes_are_served_and_summed_as_written"
            ),
            "tests/fidelity/test_provider_fidelity.py::test_a_file_with_a_bom_and_nul_bytes_is_copied_byte_for_byte",
            "tests/fidelity/test_provider_fidelity.py::"
            "test_a_gzipped_copy_of_a_file_with_a_bom_and_nul_bytes_holds_the_same_bytes",
        ),
        production=True,
    ),
    FidelityRow(
        "One queue (2 processing, 10 queued) and one daily quota for program member, lead, activity and "
        "custom object exports",
        BULK,
        "One job board for the four kinds: their jobs fill the same slots and their files the same quota",
        PENDING,
        (
            emulator_test(
                "test_emulator_kinds.py::TestSharedQueue::test_two_lead_jobs_and_an_activity_job_process_two_at_a_time"
            ),
            emulator_test(
                "test_emulator_kinds.py::TestSharedQueue::test_the_ten_queue_slots_are_counted_over_every_kind"
            ),
            emulator_test(
                "test_emulator_kinds.py::TestSharedQuota::test_a_quota_spent_by_leads_refuses_every_other_kind"
            ),
            emulator_test(
                "test_emulator_kinds.py::TestSharedQuota::test_the_quota_sums_the_files_of_every_kind"
            ),
        ),
    ),
    FidelityRow(
        "Each kind's list endpoint shows only that kind's jobs of the caller (for a custom object, only "
        "that apiName's)",
        BULK,
        "Lists and job paths are scoped by kind and apiName; another kind's export id is unknown (1003)",
        PENDING,
        (
            emulator_test(
                "test_emulator_kinds.py::TestListIsolation::test_each_kinds_list_shows_only_its_own_jobs"
            ),
            emulator_test(
                "test_emulator_kinds.py::TestListIsolation::test_a_job_is_unknown_on_another_kinds_paths"
            ),
            emulator_test(
                "test_emulator_custom_objects.py::test_each_objects_list_shows_only_that_objects_jobs"
            ),
        ),
    ),
    FidelityRow(
        "Leads: `fields` from Describe Lead2, exactly one filter type, ranges of at most 31 days; 1035 for "
        "`updatedAt` and smart lists on subscriptions without them",
        LEAD_EXTRACT,
        "Enforces each rule with 1003 naming it; `updated_at_filter=False` and `smart_list_filter=False` "
        "answer 1035",
        PENDING,
        (
            emulator_test(
                "test_emulator_leads.py::TestCreateRules::test_bad_requests_get_1003_naming_the_problem"
            ),
            emulator_test(
                "test_emulator_leads.py::TestCreateRules::test_fields_must_come_from_describe_lead2"
            ),
            emulator_test(
                "test_emulator_leads.py::TestCreateRules::test_a_subscription_without_the_filter_answers_1035"
            ),
        ),
    ),
    FidelityRow(
        "Activities: `createdAt` required; `primaryAttributeValueIds` or `primaryAttributeValues` (not both, "
        "at most 50, with `activityTypeIds` of one asset group); default columns, `attributes` as JSON",
        ACTIVITY_EXTRACT,
        "Enforces each rule with 1003 naming it; Delete Lead (37) is refused; types.json in the page's shape",
        PENDING,
        (
            emulator_test(
                "test_emulator_activities.py::TestCreateRules::test_bad_filters_get_1003_naming_the_problem"
            ),
            emulator_test(
                "test_emulator_activities.py::test_the_default_columns_with_attributes_as_one_json_object_per_row"
            ),
            emulator_test("test_emulator_activities.py::test_activity_types_answer_the_documented_shape"),
        ),
    ),
    FidelityRow(
        "Custom objects: the apiName in the path, `fields` from its describe, one filter among `updatedAt` "
        "and the static and smart lists",
        OBJECT_EXTRACT,
        "`car_c` and `contract_c` linked to leads by `leadId`; list and describe in the pages' shapes",
        PENDING,
        (
            emulator_test(
                "test_emulator_custom_objects.py::TestCreateRules::test_bad_requests_get_1003_naming_the_problem"
            ),
            emulator_test(
                "test_emulator_custom_objects.py::test_describe_lists_the_fields_an_export_may_ask_for"
            ),
            emulator_test(
                "test_emulator_contract.py::test_every_operation_answers_what_its_definition_requires"
            ),
        ),
    ),
    FidelityRow(
        "A peer client reads the lead and activity exports: tap-marketo's discover and sync",
        f"[tap-marketo]({TAP}sync.py)",
        "Served as Marketo serves them: the tap reads rows of leads and of two activity types",
        PENDING,
        (
            emulator_test(
                "test_emulator_peer_client.py::test_tap_marketo_discovers_and_syncs_leads_and_activities"
            ),
        ),
    ),
)
