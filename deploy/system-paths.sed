# Turns the embedded default configuration (folders relative to where it runs) into
# the installed one: absolute folders, so `madoguchi recordings …` run from any folder
# finds the same data as the service.
s#^data_dir = "data"#data_dir = "/var/lib/madoguchi/data"#
s#^recordings_dir = "recordings"#recordings_dir = "/var/lib/madoguchi/recordings"#
s#^prompts_dir = "prompts/ja"#prompts_dir = "/usr/local/share/madoguchi/prompts/ja"#
# No published example password in an installed switch: without the line, `serve`
# generates each operator's password into /var/lib/madoguchi/data/agent-passwords.txt.
/^password = "madoguchi-[0-9]*"/d
