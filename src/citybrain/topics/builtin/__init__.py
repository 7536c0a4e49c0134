"""Built-in topics (专题) shipped with citybrain; each uses only the public topic API."""
