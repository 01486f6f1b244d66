/*
** data_dir.h: where the examples look for Fashion-MNIST (the four
** uncompressed IDX files), the same way in every example:
**   1. --data DIR when given: DIR must hold the files, or the example
**      exits with status 1 and says which file it cannot read;
**   2. else $AG_DATA_DIR when set (the same rule: it must hold them);
**   3. else build/data/fashion-mnist under the current folder, then the
**      same folder next to the program's own (build/examples/NAME finds
**      build/data/fashion-mnist wherever it is run from; `make data`
**      unpacks it there);
**   4. else the example says so and falls back to synthetic data.
*/
#ifndef EXAMPLES_DATA_DIR_H
#define EXAMPLES_DATA_DIR_H

#include <stddef.h>

/*
** Resolves the folder as above into out (n bytes). given is --data's
** value or NULL. Returns 1 when out holds the files, 0 when none was
** asked for and none was found (out names the default, for a message),
** -1 when a folder was asked for (--data or AG_DATA_DIR) but lacks a
** file: then out holds a message naming the folder and the file.
*/
int example_data_dir(const char *given, char *out, size_t n);

/*
** The folder an example writes into (--out DIR): made when missing (one
** level, as mkdir), else it must be a writable folder. 1 when usable; 0
** after printing "PROG: cannot create the folder 'DIR': reason" to stderr.
*/
int example_out_dir(const char *prog, const char *dir);

#endif
