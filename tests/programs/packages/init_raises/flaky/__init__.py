print("running flaky/__init__")
raise ValueError("init failed")
