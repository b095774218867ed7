"""Test helpers shipped with the package: the scripted OpenAI-compatible LLM server (the one test
double cmbjupyter's tests, example notebooks and `make demo` use when no API key is set)."""
