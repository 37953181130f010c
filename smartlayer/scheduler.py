"""ANALYSE_LOGS_AT scheduling (see issue 4)."""


def start_if_configured() -> None:
    return None
