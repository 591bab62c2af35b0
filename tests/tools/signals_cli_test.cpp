// `hpml train` and the faults a careful user tries: a signal after the last step, Ctrl-C to the
// whole process group with worker processes, SIGKILL of the main process (no worker, tracker or
// shared-memory segment may outlive it by more than 5 s), and a checkpoint folder that becomes
// read-only mid-run (the previous checkpoint survives).
#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

using Clock = std::chrono::steady_clock;
const std::string kMnistMlp = "train --model mlp --dataset fashion-mnist --hidden 32 --batch-size 128 --threads 1";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// hpml train started in a process group of its own (as a shell starts a job), its output in a file.
struct Job {
  pid_t pid = -1;
  std::string log;

  // `uid` >= 0: run as that user (the test runs as root, which no permission bit stops).
  Job(const std::string& args, const std::string& log_path, int uid = -1) : log(log_path) {
    std::vector<std::string> words{HPML_CLI_PATH};
    std::istringstream is(args);
    for (std::string w; is >> w;) words.push_back(w);
    pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      if (uid >= 0 && (setgid(static_cast<gid_t>(uid)) != 0 || setuid(static_cast<uid_t>(uid)) != 0)) _exit(120);
      std::vector<char*> argv;
      for (auto& w : words) argv.push_back(w.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    setpgid(pid, pid);  // either side may run first
  }
  // Waits (at most 60 s) until the output shows `marker`.
  bool wait_for(const std::string& marker) const {
    for (auto t0 = Clock::now(); Clock::now() - t0 < std::chrono::seconds(60);) {
      if (slurp(log).find(marker) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  // The exit status, or -1000 - the signal that ended it.
  int wait() const {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1000 - (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
};

// The pids of the processes in process group `pgid` (from /proc/<pid>/stat's fifth field).
std::set<pid_t> group_members(pid_t pgid) {
  std::set<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = slurp(e.path().string() + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != "Z") out.insert(std::stoi(name));
  }
  return out;
}

// /dev/shm entries that any of `pids` created (hpml names them hpml.<pid>.<salt>.<n>).
std::vector<std::string> segments_of(const std::set<pid_t>& pids) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string n = e.path().filename().string();
    for (pid_t p : pids)
      if (n.rfind("hpml." + std::to_string(p) + ".", 0) == 0) out.push_back(n);
  }
  return out;
}

// Waits up to `seconds` for the group to be empty and its segments gone; says what is left.
std::string leftovers_after(pid_t pgid, const std::set<pid_t>& pids, double seconds) {
  std::string left;
  for (auto t0 = Clock::now(); std::chrono::duration<double>(Clock::now() - t0).count() < seconds;) {
    const std::set<pid_t> alive = group_members(pgid);
    const std::vector<std::string> segs = segments_of(pids);
    if (alive.empty() && segs.empty()) return "";
    left = std::to_string(alive.size()) + " process(es) and " + std::to_string(segs.size()) + " segment(s) left";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return left;
}

}  // namespace

TEST(SignalCli, ASignalAfterTheLastStepIsNotLost) {
  // The old loop looked at the flag only after each step: a signal during the last epoch's
  // evaluation, metrics or plots was dropped and the run exited 0.
  hpml::testing::TempDir dir("hpml_signal");
  // A wide layer makes the end-of-run evaluation last a few tenths of a second, so the signal
  // lands before the process exits even on a loaded machine.
  Job job("train --model mlp --dataset fashion-mnist --hidden 1024 --batch-size 128 --threads 1 --epochs 1 --out " +
              dir.file("r"), dir.file("log"));
  ASSERT_TRUE(job.wait_for(" 422/422 ")) << slurp(job.log);  // the epoch's last line: its last step is done
  ::kill(job.pid, SIGINT);
  EXPECT_EQ(job.wait(), 130) << slurp(job.log);
  EXPECT_TRUE(std::filesystem::exists(dir.file("r/last.safetensors"))) << slurp(job.log);
}

TEST(SignalCli, CtrlCToTheProcessGroupStopsCleanlyWithWorkerProcesses) {
  hpml::testing::TempDir dir("hpml_signal");
  const std::string args = kMnistMlp + " --epochs 2 --workers 2 --worker-mode process --out " + dir.file("r");
  Job job(args, dir.file("log"));
  ASSERT_TRUE(job.wait_for("epoch 1/2 20% ")) << slurp(job.log);
  const std::set<pid_t> pids = group_members(job.pid);
  EXPECT_GE(pids.size(), 3u) << "the main process and two workers";
  ::kill(-job.pid, SIGINT);  // what the terminal sends on Ctrl-C: every process of the job
  EXPECT_EQ(job.wait(), 130) << slurp(job.log);
  EXPECT_EQ(leftovers_after(job.pid, pids, 5), "");
  hpml::testing::CliRun resumed = hpml::testing::run_cli(args + " --quiet --resume " + dir.file("r/last.safetensors"));
  EXPECT_EQ(resumed.status, 0) << resumed.out;
}

TEST(SignalCli, SigkillOfTheMainProcessLeavesNoWorkerTrackerOrSegment) {
  hpml::testing::TempDir dir("hpml_signal");
  for (const char* extra : {"", " --loader-timeout 5"}) {
    const std::string log = dir.file(*extra ? "log-timeout" : "log");  // a fresh file: no old marker in it
    Job job(kMnistMlp + " --epochs 2 --workers 2 --worker-mode process --out " + dir.file("r") + extra, log);
    ASSERT_TRUE(job.wait_for("epoch 1/2 20% ")) << slurp(job.log);
    const std::set<pid_t> pids = group_members(job.pid);
    EXPECT_GE(pids.size(), 3u) << "the main process and two workers";
    ::kill(job.pid, SIGKILL);
    EXPECT_EQ(job.wait(), -1000 - SIGKILL);
    EXPECT_EQ(leftovers_after(job.pid, pids, 5), "") << "within 5 s of SIGKILL";
    ::kill(-job.pid, SIGKILL);  // whatever is left, so the next test starts clean
  }
}

TEST(SignalCli, ACheckpointFolderThatBecomesReadOnlyKeepsThePreviousCheckpoint) {
  hpml::testing::TempDir dir("hpml_signal");
  const std::string out = dir.file("r");
  std::filesystem::create_directories(out);
  const int uid = geteuid() == 0 ? 65534 : -1;  // root ignores permission bits: run as nobody
  if (uid >= 0) {
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    ASSERT_EQ(::chown(out.c_str(), 65534, 65534), 0);
  }
  Job job(kMnistMlp + " --epochs 3 --out " + out, dir.file("log"), uid);
  ASSERT_TRUE(job.wait_for("epoch 1: ")) << slurp(job.log);
  const std::string first = slurp(out + "/last.safetensors");
  ASSERT_EQ(::chmod(out.c_str(), 0555), 0);
  const int status = job.wait();
  ::chmod(out.c_str(), 0755);
  const std::string log = slurp(job.log);
  EXPECT_EQ(status, 1) << log;
  EXPECT_NE(log.find(out + "/last.safetensors"), std::string::npos) << "the error names the file:\n" << log;
  EXPECT_EQ(slurp(out + "/last.safetensors"), first) << "the epoch-1 checkpoint changed";
  EXPECT_NO_THROW(hpml::io::load_checkpoint(out + "/last.safetensors"));
}
