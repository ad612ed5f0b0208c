"""AppTest of a page as the app serves it: through Home.py's navigation (st.navigation), so page
links and page switches work as in the browser."""
from streamlit.testing.v1 import AppTest

from core.base.workspace import PROJECT_ROOT

HOME = "app_pages/0_Home.py"


def page_test(page: str, default_timeout: float = 60) -> AppTest:
    """`page`: its path in the project (e.g. "app_pages/4_Train.py"); not run yet."""
    at = AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=default_timeout)
    rel = str(page).replace(str(PROJECT_ROOT) + "/", "")
    if rel != HOME:
        at.switch_page(rel)
    return at


def run_task(at: AppTest, button: str, task: str, timeout: float = 120) -> AppTest:
    """Click `button`, wait for the page's background task (session state `task:<task>`) and rerun the
    page: the task and the page ended without an error."""
    at.button(key=button).click().run()
    job = at.session_state[f"task:{task}"]
    job.thread.join(timeout=timeout)
    assert job.error is None, job.error
    at.run()
    assert not at.exception, at.exception
    return at
