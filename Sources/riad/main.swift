print("riad")
