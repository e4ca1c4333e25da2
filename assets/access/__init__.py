"""People's use of personal data: the access layer's decisions (`layer`), the hash-chained audit
trail (`audit`) and how requests name subjects and calls (`subjects`)."""
