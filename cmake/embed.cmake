# Turns a text file into a C source defining `const char NAME[]`.
# Usage: cmake -DIN=file.lua -DOUT=file.c -DNAME=symbol -P embed.cmake
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* generated from ${IN} */\nconst char ${NAME}[] = {${bytes} 0x00};\n")
