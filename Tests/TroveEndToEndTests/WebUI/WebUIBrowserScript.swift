/// The Selenium script of the browser test (WebUIBrowserTests): one headless Chromium session
/// checks every page and writes a screenshot of each to SHOT_DIR. Prints ALL OK at the end.
enum WebUIBrowserScript {
    static let script = #"""
        import json, os, sys, base64
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait

        base = os.environ["UI_BASE"]
        shots = os.environ["SHOT_DIR"]
        admin = os.environ["ADMIN_TOKEN"]
        reader = os.environ["READ_TOKEN"]
        expected = json.loads(os.environ["EXPECTED"])
        os.makedirs(shots, exist_ok=True)

        opts = webdriver.ChromeOptions()
        opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--window-size=1280,900", "--no-first-run", "--disable-extensions"]:
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts)
        failures = []

        def check(cond, what):
            if not cond:
                failures.append(what)
                print("FAIL:", what, file=sys.stderr)

        def sign_in(token):
            driver.execute_cdp_cmd("Network.enable", {})
            auth = "Basic " + base64.b64encode(token.encode()).decode()
            driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": auth}})

        def console_errors():
            return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

        def navigating(action):
            # A form's submit() (and a click) may return before the next page has replaced this
            # one: wait until this document is gone, so lookups never reach the old page's
            # elements (a stale element, or the old page's text).
            old = driver.find_element(By.TAG_NAME, "html")
            action()
            WebDriverWait(driver, 60).until(EC.staleness_of(old))

        def visit(path, shot=None, errors_ok=False):
            driver.get(base + path)
            if shot:
                driver.save_screenshot(os.path.join(shots, shot + ".png"))
            errs = console_errors()
            if not errors_ok:
                check(not errs, "console errors on %s: %s" % (path, errs))
            check(driver.execute_script("return window.__pwned === undefined"), "an injected script ran on " + path)

        try:
            sign_in(admin)
            # Every page loads without console errors (and a screenshot of each).
            visit("/_ui/", "01-versions")
            check("models/m" in driver.find_element(By.ID, "names").text, "names list")
            visit("/_ui/name?name=models/m", "02-name")
            visit("/_ui/version?name=models/m&version=1", "03-version")
            # Files and the lineage graph with the right nodes.
            files = [r.find_elements(By.TAG_NAME, "td")[0].text for r in driver.find_elements(By.CSS_SELECTOR, "#files tbody tr")]
            check(sorted(files) == sorted(expected["files"]), "files %s != %s" % (files, expected["files"]))
            nodes = sorted(a.get_attribute("data-ref") for a in driver.find_elements(By.CSS_SELECTOR, "svg#lineage a.node"))
            check(nodes == sorted(expected["lineage"]), "lineage nodes %s != %s" % (nodes, expected["lineage"]))
            # Injected markup is shown as text and does not run.
            check("<script>" in driver.find_element(By.ID, "message").text, "message shown as text")
            check("<script>" in driver.find_element(By.ID, "metadata").text, "metadata shown as text")
            check(any("<script>" in f for f in files), "path shown as text")
            check(len(driver.find_elements(By.CSS_SELECTOR, "main script, main img")) == 0, "no injected elements")
            # Clicking a parent navigates to it; clicking a lineage node too.
            navigating(driver.find_element(By.CSS_SELECTOR, "#parents a.parent").click)
            check(driver.find_element(By.ID, "title").text == "data/raw:1", "parent click: " + driver.current_url)
            navigating(driver.find_element(By.CSS_SELECTOR, 'svg#lineage a.node[data-ref="models/m:2"]').click)
            check(driver.find_element(By.ID, "title").text == "models/m:2", "lineage node click: " + driver.current_url)
            check(not console_errors(), "console errors after navigation")
            # The alias timeline is what `trove alias history` prints.
            visit("/_ui/alias?name=models/m&alias=prod", "04-alias")
            rows = []
            for r in driver.find_elements(By.CSS_SELECTOR, "#history tbody tr"):
                c = [td.text for td in r.find_elements(By.TAG_NAME, "td")]
                rows.append("%s\t%s\t%s -> %s" % (c[0], c[1], c[2], c[3]))
            check(rows == expected["history"], "alias history %s != %s" % (rows, expected["history"]))
            # "What was here on date X".
            field = driver.find_element(By.ID, "at")
            field.clear()
            field.send_keys(expected["firstMove"])
            navigating(field.submit)
            check(driver.find_element(By.ID, "then").text.endswith("models/m:1"), "alias at time: " + driver.find_element(By.ID, "then").text)
            check(not console_errors(), "console errors after the date lookup")
            # Metadata search through the form.
            visit("/_ui/")
            box = driver.find_element(By.NAME, "where")
            box.send_keys("auc>=0.93")
            navigating(box.submit)
            found = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#versions a.version")]
            names = [r.find_elements(By.TAG_NAME, "td")[0].text + ":" + r.find_elements(By.TAG_NAME, "td")[1].text
                     for r in driver.find_elements(By.CSS_SELECTOR, "#versions tbody tr")]
            check(names == expected["search"], "search %s != %s" % (names, expected["search"]))
            driver.save_screenshot(os.path.join(shots, "05-search.png"))
            visit("/_ui/diff?a=models/m:1&b=models/m:2", "06-diff")
            check("shares" in driver.find_element(By.ID, "sharing").text, "diff sharing")
            visit("/_ui/store", "07-store")
            check("GC" in driver.find_element(By.ID, "maintenance").text, "store maintenance")
            # A read token sees only its prefix.
            sign_in(reader)
            visit("/_ui/", "08-reader")
            text = driver.find_element(By.TAG_NAME, "main").text
            check("team-a/model" in text and "team-b" not in text and "models/m" not in text, "reader's list: " + text[:300])
            visit("/_ui/version?name=team-a/model&version=1")
            check("team-b" not in driver.find_element(By.TAG_NAME, "main").text, "reader sees a team-b parent")
            visit("/_ui/version?name=models/m&version=1", errors_ok=True)
            check(driver.find_element(By.TAG_NAME, "h1").text == "Error 404", "reader reaches models/m:1")
        finally:
            driver.quit()
        if failures:
            print("FAILURES:", failures)
            sys.exit(1)
        print("ALL OK")
        """#
}
