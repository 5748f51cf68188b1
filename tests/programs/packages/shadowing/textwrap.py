def wrap(text):
    return ["local:" + text]
