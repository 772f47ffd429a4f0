"""One client per remote system (Rasa, WeChat, WeCom, DingTalk), explicit timeouts."""
