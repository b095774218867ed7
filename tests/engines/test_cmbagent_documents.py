"""The newest cmbagent's document modes, end to end offline: ``ocr`` (Mistral's OCR API, answered by the
scripted server), ``arxiv`` (papers already in the work dir's download folder, as cmbagent leaves them;
no machine here reaches arXiv) and ``enhance-input`` (arXiv + OCR + summaries). Each: its DAG, phases,
artifacts and exact cost. With post30 these modes name the release that has them."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from cmbjupyter import IsolatedTaskExecutor, SessionManager, TaskFailed
from cmbjupyter.worker.engines.cmbagent_documents import OCR_USD_PER_PAGE

#: An arXiv paper the tasks link to.
PAPER = "1807.06209"


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


@pytest.fixture
def newest(cmbagent_env):
    if not cmbagent_env.newest:
        pytest.skip(f"{cmbagent_env.name} lacks the document modes (tested below: the error names them)")


@pytest.fixture
def no_internet(monkeypatch):
    """Any download goes through a proxy that refuses at once (a test never waits on the network);
    the scripted server on 127.0.0.1 is reached directly."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def make_pdf(path: Path, pages: int, title: str) -> Path:
    """A real PDF of ``pages`` pages (matplotlib's PDF backend), its title in the metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path, metadata={"Title": title}) as pdf:
        for n in range(1, pages + 1):
            figure = Figure(figsize=(4, 3))
            figure.add_subplot().plot([0, 1, 2], [0, n, 0])
            figure.suptitle(f"{title}, page {n}")
            pdf.savefig(figure)
    return path


class Collected(list):
    async def __call__(self, event_type, data):
        self.append((event_type, data))

    def of(self, event_type):
        return [data for kind, data in self if kind == event_type]

    def statuses(self) -> dict[str, str]:
        last: dict[str, str] = {}
        for update in self.of("dag_node_update"):
            last[update["node_id"]] = update["status"]
        return last


async def run_mode(executor, collected, mode, task, session_id, **config):
    return await executor.execute(
        session_id,
        task,
        {"engine": "cmbagent", "mode": mode, "session_id": session_id, **config},
        output_callback=collected,
    )


def run_dir(tmp_path: Path, session_id: str) -> Path:
    """Where cmbagent works for a session (the engine's ``cmbagent_output/<session>``)."""
    return tmp_path / "cmbagent_output" / session_id


def ocr_costs(collected: Collected) -> list[dict]:
    return [c for c in collected.of("cost_update") if c.get("agent") == "ocr"]


async def test_ocr_turns_a_pdf_into_markdown_at_the_exact_page_price(
    newest, seed_engine_env, executor, tmp_path
):
    pdf = make_pdf(tmp_path / "planck.pdf", pages=2, title="Planck 2018 results")
    collected = Collected()
    result = await run_mode(executor, collected, "ocr", str(pdf), "ocr1")
    [request] = seed_engine_env.ocr_requests
    assert request["model"] == "mistral-ocr-latest"
    assert request["document"]["document_url"].startswith("data:application/pdf;base64,")
    markdown = run_dir(tmp_path, "ocr1") / "planck_processed" / "planck.md"
    text = markdown.read_text()
    assert "# Planck 2018 results" in text and "Scripted OCR of page 2 of 2." in text
    assert "planck_processed/planck.md" in result["artifacts"]
    assert result["outcome"]["num_pages"] == 2
    [cost] = ocr_costs(collected)
    assert cost["cost"] == pytest.approx(2 * OCR_USD_PER_PAGE, abs=1e-12)
    assert cost["model"] == "mistral-ocr-latest" and cost["priced_by"] == "engine"
    assert [p["phase"] for p in collected.of("phase_change")] == ["process", "output"]
    statuses = collected.statuses()
    assert statuses["init"] == statuses["process"] == statuses["output"] == statuses["end"] == "completed"
    record = executor.session_manager.load_session("ocr1")
    assert record["status"] == "completed"
    assert record["cost"]["total_usd"] == pytest.approx(2 * OCR_USD_PER_PAGE, abs=1e-12)


async def test_ocr_of_a_folder_processes_every_pdf_in_it(newest, seed_engine_env, executor, tmp_path):
    folder = tmp_path / "papers"
    make_pdf(folder / "a.pdf", pages=1, title="Paper A")
    make_pdf(folder / "sub" / "b.pdf", pages=3, title="Paper B")
    collected = Collected()
    result = await run_mode(executor, collected, "ocr", str(folder), "ocr2")
    assert len(seed_engine_env.ocr_requests) == 2
    assert {"papers_processed/a.md", "papers_processed/b.md"} <= set(result["artifacts"])
    assert result["outcome"]["processed_files"] == 2 and result["outcome"]["failed_files"] == 0
    total = sum(c["cost"] for c in ocr_costs(collected))
    assert total == pytest.approx(4 * OCR_USD_PER_PAGE, abs=1e-12)


async def test_ocr_of_a_file_that_is_not_a_pdf_is_an_error_naming_it(
    newest, seed_engine_env, executor, tmp_path
):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "notes.pdf").write_text("not a PDF at all")
    with pytest.raises(TaskFailed, match=r"notes\.pdf.*not a PDF") as caught:
        await run_mode(executor, Collected(), "ocr", str(folder), "ocr3")
    assert caught.value.error_type == "EngineError"


async def test_ocr_of_a_missing_path_says_which(newest, seed_engine_env, executor, tmp_path):
    with pytest.raises(TaskFailed, match=r"nowhere\.pdf"):
        await run_mode(executor, Collected(), "ocr", str(tmp_path / "nowhere.pdf"), "ocr4")
    assert not seed_engine_env.ocr_requests


async def test_arxiv_uses_the_papers_already_in_the_download_folder(
    newest, seed_engine_env, executor, tmp_path, no_internet
):
    make_pdf(run_dir(tmp_path, "arxiv1") / "docs" / f"{PAPER}.pdf", pages=1, title="Planck 2018 VI")
    collected = Collected()
    result = await run_mode(
        executor, collected, "arxiv", f"Reproduce https://arxiv.org/abs/{PAPER} Table 2.", "arxiv1"
    )
    outcome = result["outcome"]
    assert outcome["arxiv_ids"] == [PAPER] and outcome["downloads_skipped"] == 1
    assert outcome["downloads_failed"] == 0
    assert f"docs/{PAPER}.pdf" in result["artifacts"]
    assert [p["phase"] for p in collected.of("phase_change")] == ["process", "output"]
    statuses = collected.statuses()
    assert statuses["init"] == statuses["process"] == statuses["output"] == "completed"
    assert not collected.of("cost_update"), "downloading papers costs nothing"


async def test_arxiv_on_a_task_without_links_downloads_nothing(
    newest, seed_engine_env, executor, no_internet
):
    result = await run_mode(executor, Collected(), "arxiv", "Fit the TT spectrum.", "arxiv2")
    assert result["outcome"]["urls_found"] == [] and result["outcome"]["downloads_attempted"] == 0


async def test_a_failed_download_is_a_clear_error_naming_the_url(
    newest, seed_engine_env, executor, no_internet
):
    url = "https://arxiv.org/abs/2401.00001"
    with pytest.raises(TaskFailed, match=r"downloading https://arxiv\.org/abs/2401\.00001 failed") as caught:
        await run_mode(executor, Collected(), "arxiv", f"Read {url}.", "arxiv3")
    assert caught.value.error_type == "EngineError"
    assert executor.session_manager.load_session("arxiv3")["status"] == "suspended"


async def test_enhance_input_summarises_the_papers_into_the_task(
    newest, seed_engine_env, executor, tmp_path, no_internet
):
    docs = run_dir(tmp_path, "enhance") / "docs"
    make_pdf(docs / f"{PAPER}.pdf", pages=2, title="Planck 2018 results VI")
    task = f"Fit the TT spectrum as in https://arxiv.org/abs/{PAPER}."
    collected = Collected()
    result = await run_mode(executor, collected, "enhance-input", task, "enhance")
    enhanced = result["outcome"]
    assert enhanced.startswith(task) and "## Contextual Information and References" in enhanced
    assert f"(arXiv:{PAPER})" in enhanced
    artifacts = set(result["artifacts"])
    assert f"docs_processed/{PAPER}.md" in artifacts and "enhanced_input.md" in artifacts
    assert any(a.endswith("document_summary.json") for a in artifacts), "the summary is kept"
    assert [p["phase"] for p in collected.of("phase_change")] == ["arxiv", "ocr", "summarize"]
    statuses = collected.statuses()
    assert statuses["arxiv"] == statuses["ocr"] == statuses["summarize"] == "completed"
    said = {m.get("agent") for m in collected.of("message") + collected.of("tool_call")}
    assert {"summarizer", "summarizer_response_formatter"} <= said
    # exact cost: the OCR pages at Mistral's price, each LLM response priced once by the host
    costs = collected.of("cost_update")
    [ocr] = ocr_costs(collected)
    assert ocr["cost"] == pytest.approx(2 * OCR_USD_PER_PAGE, abs=1e-12)
    assert len(costs) == len(seed_engine_env.requests) + 1
    record = executor.session_manager.load_session("enhance")
    assert record["cost"]["total_usd"] == pytest.approx(sum(c["cost"] for c in costs))


async def test_with_post30_the_document_modes_name_the_release_that_has_them(
    cmbagent_env, seed_engine_env, executor
):
    if cmbagent_env.newest:
        pytest.skip("this cmbagent has every mode (tested above)")
    for mode, function in (("arxiv", "arxiv_filter"), ("enhance-input", "preprocess_task")):
        with pytest.raises(TaskFailed, match=rf"cmbagent\.{function}.*cmbagent==0\.0\.1\.post63"):
            await run_mode(executor, Collected(), mode, "https://arxiv.org/abs/1807.06209", f"old-{mode}")
