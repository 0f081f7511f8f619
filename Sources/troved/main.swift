print("troved: not built yet")
