"""The core suite's behaviour holds on the Dask backend: the same test functions, imported as they
are, run once per backend (``backend`` fixture: local, dask) against one LocalCluster."""

from __future__ import annotations

from tests.core.test_executor import (  # noqa: F401 - collected by pytest, parametrised by backend
    test_a_missing_engine_is_a_clear_error_event,
    test_a_print_cannot_corrupt_the_event_protocol,
    test_a_running_task_id_cannot_be_reused,
    test_a_task_runs_in_another_process_and_returns_its_result,
    test_an_engine_exception_sends_the_error_event_first_then_raises_task_failed,
    test_an_importable_engine_path_is_run_in_the_worker,
    test_env_reaches_the_worker,
    test_events_arrive_in_the_order_the_run_made_them,
    test_every_event_has_a_gapless_seq_task_id_and_timestamp,
    test_human_input_round_trip_over_the_control_channel,
    test_planning_control_adds_plan_steps_live_and_runs_them,
    test_stdout_stderr_c_level_and_child_process_output_become_output_events,
    test_the_executor_marks_start_and_end_so_every_engine_gets_a_correct_dag,
    test_the_worker_never_blocks_on_stdin,
    test_two_tasks_run_concurrently_and_keep_their_events_apart,
    test_unknown_event_types_are_delivered_not_dropped,
    test_work_dir_is_created_and_used_as_the_workers_directory,
)
from tests.core.test_session import (  # noqa: F401
    test_a_suspended_session_resumes_at_its_step_with_its_context,
    test_the_event_log_is_written_beside_the_sidecar_and_replays_to_the_same_state,
    test_the_executor_saves_on_every_phase_change_and_at_the_end,
)
from tests.reliability.test_worker_faults import (  # noqa: F401
    no_leaked_processes,
    test_a_crash_marks_running_nodes_failed_and_keeps_completed_ones,
    test_a_worker_killed_by_sigkill,
    test_a_worker_that_calls_os_exit,
    test_a_worker_that_cannot_start_is_a_clear_error,
    test_a_worker_that_closes_its_event_pipe_early,
    test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period,
    test_a_worker_that_segfaults_reports_the_signal_and_the_fault_trace,
    test_an_infinite_loop_past_the_timeout,
    test_budget_exceeded_stops_the_worker_after_a_warning_at_80_percent,
    test_cancel_ends_the_whole_process_group_including_forked_children,
    test_cancelling_the_awaiting_coroutine_stops_the_worker_too,
    test_memory_above_the_limit_stops_the_worker,
)
