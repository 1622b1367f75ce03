pytest_plugins = ["tests.rig.fixtures", "tests.support.people_text_plugin"]
