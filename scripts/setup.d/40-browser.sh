# Browser tests of the web view (Tests/TroveEndToEndTests/WebUI): Debian's headless Chromium and
# its WebDriver, Selenium from PyPI in .venv-ui.
apt_install chromium chromium-driver
make_venv .venv-ui 'python -c "import selenium"' selenium
