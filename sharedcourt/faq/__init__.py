"""普法 knowledge base (issue 15): entries from data/faq, retrieval over their paraphrases, answers with sources."""
