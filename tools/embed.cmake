#  Writes OUTPUT, a C file defining NAME (const unsigned char [], the
#  bytes of INPUT and a NUL) and NAME_size (its size without the NUL).
#  Usage: cmake -DINPUT=file -DOUTPUT=file.c -DNAME=symbol -P embed.cmake
file (READ "${INPUT}" hex HEX)
string (LENGTH "${hex}" digits)
math (EXPR size "${digits} / 2")
string (REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string (REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
file (WRITE "${OUTPUT}.tmp"
      "/*  Generated from ${INPUT} by tools/embed.cmake: do not edit  */\n"
      "#include <stddef.h>\n"
      "extern const unsigned char ${NAME} [];\n"
      "extern const size_t ${NAME}_size;\n"
      "const unsigned char ${NAME} [] = {\n    ${bytes}0x00\n};\n"
      "const size_t ${NAME}_size = ${size};\n")
file (RENAME "${OUTPUT}.tmp" "${OUTPUT}")
