"""Themes: the taxonomy analysts name (`taxonomy`), statements cut from the canon
(`statements`), BERTopic over them (`model`), the registry that keeps theme ids stable and
assigns each day's statements (`registry`), new issues found the day they happen (`emerging`),
and phrase search for analysts (`search`)."""
