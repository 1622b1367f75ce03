pytest_plugins = ["tests.rig.fixtures"]
